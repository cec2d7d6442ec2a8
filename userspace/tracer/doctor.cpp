#include "tracer/doctor.h"

#include <cstdio>
#include <sstream>

#include "tracer/hooks.h"

namespace copyscope {
namespace {

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
        out += (i ? sep : "") + v[i];
    return out;
}

DoctorForm doctor_form(const HookForm& form, const KernelFeatures& f) {
    const ResolvedForm r = resolve(form, f);
    DoctorForm d;
    d.mechanism = form.mechanism;
    d.evidence = form.evidence;
    d.available = r.available;
    d.note = form.purpose == HookPurpose::trace ? "copyscope trace only: " + form.note
             : form.purpose == HookPurpose::run ? "copyscope run only: " + form.note
                                                : form.note;
    if (r.available) {
        d.targets = r.targets;
    } else {
        d.reason = r.reason;
        for (const auto& need : form.needs)
            d.targets.push_back(join(need.names, "|"));
    }
    return d;
}

Measured<HookMechanism> chosen(const HookUse& use) {
    if (!use.form) return Unsupported{use.form.reason()};
    return use.form->mechanism;
}

// A hook's use in `run`'s plan, or in trace's for the hooks only trace plans.
const HookUse& use_in(const HookPlan& run, const HookPlan& trace, const std::string& hook) {
    for (const HookUse& u : run.uses)
        if (u.hook == hook) return u;
    for (const HookUse& u : trace.uses)
        if (u.hook == hook) return u;
    static const HookUse none{"", Unsupported{"not planned"}};
    return none;
}

std::string kernel_lines(const KernelFeatures& k) {
    std::ostringstream out;
    out << "kernel     " << k.release << "\n";
    out << "BTF        " << (k.btf ? "yes (" : "no (") << k.btf_detail << ")\n";
    out << "lockdown   " << k.lockdown << "\n";
    out << "tracefs    " << k.tracefs << "\n";
    out << "kprobes    " << (k.kprobes ? "yes" : "no") << "\n";
    out << "BPF load   " << (k.bpf.ok ? std::string("yes") : "no: " + k.bpf.reason) << "\n\n";
    return out.str();
}

std::string hook_lines(const DoctorHook& h) {
    std::ostringstream out;
    char line[512];
    bool first = true;
    // A hook may have two forms of one mechanism (by kernel version): the first usable one
    // of the chosen mechanism is the one taken.
    bool marked[2] = {false, false};
    for (const DoctorForm& form : h.forms) {
        std::string chosen_by;
        int m = 0;
        for (const auto& [mode, choice] :
             {std::pair{"auto", &h.chosen_auto},
              std::pair{"prefer-tracepoints", &h.chosen_tracepoints}}) {
            if (*choice && **choice == form.mechanism && form.available && !marked[m]) {
                chosen_by += (chosen_by.empty() ? "" : ", ") + std::string(mode);
                marked[m] = true;
            }
            ++m;
        }
        std::snprintf(line, sizeof line, "%-14s %-10s %-45s %-9s %-6s %s\n",
                      first ? h.hook.c_str() : "", std::string(to_string(form.mechanism)).c_str(),
                      join(form.targets, ", ").c_str(),
                      std::string(to_string(form.evidence)).c_str(), form.available ? "yes" : "no",
                      chosen_by.c_str());
        out << line;
        if (!form.available) out << std::string(26, ' ') << "why not: " << form.reason << "\n";
        first = false;
    }
    for (const auto& [mode, choice] : {std::pair{"auto", &h.chosen_auto},
                                       std::pair{"prefer-tracepoints", &h.chosen_tracepoints}})
        if (!*choice)
            out << std::string(26, ' ') << "--hooks " << mode
                << ": unsupported: " << choice->reason() << "\n";
    return out.str();
}

} // namespace

TracerDoctor tracer_doctor(const KernelFeatures& f) {
    TracerDoctor d;
    d.kernel = f;
    const HookPlan auto_plan = plan_hooks(f, HookMode::automatic);
    const HookPlan tp_plan = plan_hooks(f, HookMode::prefer_tracepoints);
    const HookPlan auto_trace = plan_hooks(f, HookMode::automatic, HookPurpose::trace);
    const HookPlan tp_trace = plan_hooks(f, HookMode::prefer_tracepoints, HookPurpose::trace);
    const auto& catalog = hook_catalog();
    for (size_t i = 0; i < catalog.size(); ++i) {
        DoctorHook h;
        h.hook = catalog[i].name;
        h.what = catalog[i].what;
        for (const HookForm& form : catalog[i].forms)
            h.forms.push_back(doctor_form(form, f));
        h.chosen_auto = chosen(use_in(auto_plan, auto_trace, h.hook));
        h.chosen_tracepoints = chosen(use_in(tp_plan, tp_trace, h.hook));
        d.hooks.push_back(std::move(h));
    }
    return d;
}

std::string render_tracer_doctor(const TracerDoctor& d) {
    std::string out = kernel_lines(d.kernel);
    char line[512];
    std::snprintf(line, sizeof line, "%-14s %-10s %-45s %-9s %-6s %s\n", "hook", "form", "targets",
                  "count", "usable", "chosen by --hooks");
    out += line;
    for (const DoctorHook& h : d.hooks)
        out += hook_lines(h);
    return out;
}

} // namespace copyscope
