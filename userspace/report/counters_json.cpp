#include "report/counters_json.h"

#include <algorithm>

#include "counters/summary.h"
#include "report/measured_json.h"

namespace copyscope {
namespace {

using nlohmann::json;

json event_json(const Measured<EventCount>& m) {
    if (!m) return unsupported_json(m.reason());
    const EventCount& e = *m;
    json j = {{"value", e.value},
              {"unit", e.unit},
              {"kind", e.kind},
              {"raw", e.raw},
              {"running_fraction", e.running_fraction},
              {"scaled", e.scaled}};
    if (!e.pmus.empty()) j["pmus"] = e.pmus;
    if (!e.incomplete.empty()) j["incomplete"] = e.incomplete;
    return j;
}

json events_json(const EventCounts& events) {
    json j = json::object();
    for (const auto& [name, e] : events)
        j[name] = event_json(e);
    return j;
}

json role_json(const Measured<RoleCounts>& role) {
    if (!role) return unsupported_json(role.reason());
    return {{"threads", role->threads}, {"events", events_json(role->events)}};
}

json system_json(const Measured<SystemCounts>& system) {
    if (!system) return unsupported_json(system.reason());
    json j = {{"cpus", system->cpus}, {"events", events_json(system->events)}};
    if (const auto& c = system->cpu_time)
        j["cpu_time"] = {
            {"user_seconds", c->user_seconds},       {"system_seconds", c->system_seconds},
            {"softirq_seconds", c->softirq_seconds}, {"irq_seconds", c->irq_seconds},
            {"steal_seconds", c->steal_seconds},     {"idle_seconds", c->idle_seconds},
            {"busy_seconds", c->busy_seconds},       {"resolution_seconds", c->resolution_seconds}};
    return j;
}

json derived_json(const DerivedFigures& d) {
    json j = json::object();
    for (const DerivedFigureDef& f : derived_figures)
        j[std::string(f.key)] = measured_json(d.*f.field);
    return j;
}

// ---- reading ---------------------------------------------------------------------------------

Measured<EventCount> event_from_json(const JsonIn& j) {
    if (auto why = j.unsupported()) return Unsupported{*why};
    EventCount e;
    e.value = j.get_or("value", 0.0);
    e.unit = j.get_or<std::string>("unit", "");
    e.kind = j.get_or<std::string>("kind", "");
    e.raw = j.get_or<uint64_t>("raw", 0);
    e.running_fraction = j.get_or("running_fraction", 1.0);
    e.scaled = j.get_or("scaled", false);
    e.pmus = j.get_or<std::vector<std::string>>("pmus", {});
    e.incomplete = j.get_or<std::string>("incomplete", "");
    return e;
}

EventCounts events_from_json(const std::optional<JsonIn>& j) {
    EventCounts out;
    if (j)
        for (const auto& [name, e] : j->members())
            out[name] = event_from_json(e);
    return out;
}

Measured<RoleCounts> role_from_json(const JsonIn& thread, const char* role) {
    auto j = thread.find(role);
    if (!j) return Unsupported{not_in_report};
    if (auto why = j->unsupported()) return Unsupported{*why};
    return RoleCounts{j->get_or<unsigned>("threads", 0), events_from_json(j->find("events"))};
}

Measured<SystemCounts> system_from_json(const JsonIn& j) {
    if (auto why = j.unsupported()) return Unsupported{*why};
    SystemCounts s;
    s.cpus = j.get_or<std::vector<int>>("cpus", {});
    s.events = events_from_json(j.find("events"));
    if (auto c = j.find("cpu_time"))
        s.cpu_time =
            CpuTime{c->get_or("user_seconds", 0.0),    c->get_or("system_seconds", 0.0),
                    c->get_or("softirq_seconds", 0.0), c->get_or("irq_seconds", 0.0),
                    c->get_or("steal_seconds", 0.0),   c->get_or("idle_seconds", 0.0),
                    c->get_or("busy_seconds", 0.0),    c->get_or("resolution_seconds", 0.0)};
    return s;
}

DerivedFigures derived_from_json(const JsonIn& j) {
    DerivedFigures d;
    for (const DerivedFigureDef& f : derived_figures)
        d.*f.field = j.measured<double>(std::string(f.key).c_str());
    return d;
}

} // namespace

json to_json(const CounterResult& r) {
    json j;
    j["events"] = r.events;
    json scopes = json::array();
    if (r.thread) scopes.push_back("thread");
    if (r.system) scopes.push_back("system");
    j["scopes"] = scopes;
    j["pmus"] = json::array();
    for (const CorePmuName& p : r.pmus)
        j["pmus"].push_back({{"name", p.name}, {"type", p.type}});
    j["hybrid"] = r.hybrid();
    if (r.thread)
        j["thread"] = {{"sender", role_json(r.thread->sender)},
                       {"receiver", role_json(r.thread->receiver)}};
    if (r.system) j["system"] = system_json(*r.system);
    j["derived"] = json::object();
    if (r.derived_thread) j["derived"]["thread"] = derived_json(*r.derived_thread);
    if (r.derived_system) j["derived"]["system"] = derived_json(*r.derived_system);
    j["notes"] = r.notes;
    j["summary"] = counters_summary(r); // the summary table's one-liner
    return j;
}

CounterResult counters_from_json(const JsonIn& j) {
    CounterResult r;
    r.events = j.get_or<std::vector<std::string>>("events", {});
    const auto scopes = j.get_or<std::vector<std::string>>("scopes", {});
    auto in_scope = [&](const char* s) {
        return j.has(s) || std::find(scopes.begin(), scopes.end(), s) != scopes.end();
    };
    if (auto pmus = j.find("pmus"))
        for (const JsonIn& p : pmus->elements())
            r.pmus.push_back({p.get_or<std::string>("name", ""), p.get_or<unsigned>("type", 0)});
    if (in_scope("thread")) {
        static const json none = json::object();
        const JsonIn thread = j.has("thread") ? j.at("thread") : JsonIn(none, j.path() + ".thread");
        r.thread =
            ThreadCounts{role_from_json(thread, "sender"), role_from_json(thread, "receiver")};
    }
    if (in_scope("system"))
        r.system = j.has("system") ? system_from_json(j.at("system"))
                                   : Measured<SystemCounts>(Unsupported{not_in_report});
    if (auto derived = j.find("derived")) {
        if (auto t = derived->find("thread")) r.derived_thread = derived_from_json(*t);
        if (auto s = derived->find("system")) r.derived_system = derived_from_json(*s);
    }
    r.notes = j.get_or<std::vector<std::string>>("notes", {});
    return r;
}

} // namespace copyscope
