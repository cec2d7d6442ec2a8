#include "report/doctor_json.h"

#include "report/measured_json.h"

namespace copyscope {
namespace {

using nlohmann::json;

json chosen_json(const Measured<HookMechanism>& chosen) {
    if (!chosen) return unsupported_json(chosen.reason());
    return std::string(to_string(*chosen));
}

json form_json(const DoctorForm& f) {
    json j = {{"mechanism", std::string(to_string(f.mechanism))},
              {"targets", f.targets},
              {"count", std::string(to_string(f.evidence))},
              {"available", f.available},
              {"note", f.note}};
    if (!f.available) j["reason"] = f.reason;
    return j;
}

json support_json(const EventSupport& e) {
    json j = {{"supported", e.supported}};
    if (!e.supported) j["reason"] = e.reason;
    return j;
}

} // namespace

json to_json(const TracerDoctor& d) {
    const KernelFeatures& k = d.kernel;
    json j;
    j["kernel_release"] = k.release;
    j["btf"] = {{"present", k.btf}, {"detail", k.btf_detail}};
    j["lockdown"] = k.lockdown;
    j["tracefs"] = k.tracefs;
    j["kprobes"] = k.kprobes;
    j["bpf"] = {{"can_load", k.bpf.ok}, {"reason", k.bpf.reason}};
    json hooks = json::array();
    for (const DoctorHook& h : d.hooks) {
        json forms = json::array();
        for (const DoctorForm& f : h.forms)
            forms.push_back(form_json(f));
        hooks.push_back({{"hook", h.hook},
                         {"what", h.what},
                         {"forms", forms},
                         {"chosen",
                          {{"auto", chosen_json(h.chosen_auto)},
                           {"prefer-tracepoints", chosen_json(h.chosen_tracepoints)}}}});
    }
    j["hooks"] = hooks;
    return j;
}

json to_json(const CounterDoctor& d) {
    json j;
    j["pmus"] = json::array();
    for (const CorePmuName& p : d.pmus)
        j["pmus"].push_back({{"name", p.name}, {"type", p.type}});
    j["hybrid"] = d.hybrid();
    j["perf_event_paranoid"] = d.perf_event_paranoid ? json(*d.perf_event_paranoid) : json(nullptr);
    json events = json::array();
    for (const DoctorEvent& e : d.events)
        events.push_back({{"name", e.name},
                          {"kind", e.kind},
                          {"thread", support_json(e.thread)},
                          {"system", support_json(e.system)}});
    j["events"] = events;
    return j;
}

} // namespace copyscope
