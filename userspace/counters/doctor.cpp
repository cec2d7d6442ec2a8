#include "counters/doctor.h"

#include <cstdio>
#include <fstream>
#include <sstream>

namespace copyscope {
namespace {

// Opens every event for real, briefly counts, and reads: an event that opens but never
// runs is no use.
std::map<std::string, EventSupport> probe(const CounterOptions& options, const PmuTopology& pmus,
                                          pid_t pid, int cpu) {
    CounterSet set = CounterSet::open(options.events, pmus, pid, cpu);
    set.enable();
    volatile uint64_t spin = 0;
    for (int i = 0; i < 200000; ++i)
        spin = spin + uint64_t(i);
    set.disable();
    std::map<std::string, EventSupport> out;
    for (const auto& s : set.read()) {
        EventTotal t;
        if (!s.unsupported.empty()) t.add_unsupported(s.unsupported);
        for (const auto& [pmu, r] : s.readings)
            t.add(r, !pmus.hybrid() || cpu >= 0);
        EventSupport e{t.counted(), ""};
        if (!t.unsupported.empty())
            e.reason = t.unsupported;
        else if (!t.counted())
            e.reason = "opens but never ran on a counter (time_running 0)";
        out[std::string(s.def->name)] = e;
    }
    return out;
}

std::optional<int> perf_event_paranoid() {
    std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
    int level = 0;
    if (in >> level) return level;
    return std::nullopt;
}

} // namespace

CounterDoctor counters_doctor(const CounterOptions& options) {
    const PmuTopology pmus = discover_pmus(options.sysfs_root);
    CounterDoctor d;
    for (const auto& p : pmus.core)
        d.pmus.push_back({p.name, p.type});
    d.perf_event_paranoid = perf_event_paranoid();
    const std::vector<int> cpus = online_cpus(options.sysfs_root);
    const auto thread = probe(options, pmus, 0, -1);
    std::map<std::string, EventSupport> system;
    if (!cpus.empty()) system = probe(options, pmus, -1, cpus.front());
    for (const EventDef* e : options.events) {
        const std::string name(e->name);
        DoctorEvent row{name, std::string(to_string(e->kind)), {}, {}};
        if (thread.count(name)) row.thread = thread.at(name);
        row.system =
            cpus.empty() ? EventSupport{false, "no online CPU list in sysfs"} : system.at(name);
        d.events.push_back(row);
    }
    return d;
}

std::string render_counters_doctor(const CounterDoctor& doctor) {
    std::ostringstream out;
    out << "counters (perf_event_open)\n  core PMUs: ";
    if (doctor.pmus.empty()) out << "none visible (hardware events cannot be counted)";
    for (size_t i = 0; i < doctor.pmus.size(); ++i)
        out << (i ? ", " : "") << doctor.pmus[i].name << " (type " << doctor.pmus[i].type << ")";
    if (doctor.hybrid()) out << " -- hybrid: events summed over PMUs";
    out << "\n  perf_event_paranoid: ";
    if (doctor.perf_event_paranoid)
        out << *doctor.perf_event_paranoid;
    else
        out << "unknown";
    out << "\n";
    std::vector<std::string> reasons; // numbered, each said once
    auto cell = [&](const EventSupport& e) -> std::string {
        if (e.supported) return "counted";
        const std::string reason = e.reason.empty() ? "unknown" : e.reason;
        size_t idx = 0;
        while (idx < reasons.size() && reasons[idx] != reason)
            ++idx;
        if (idx == reasons.size()) reasons.push_back(reason);
        return "unsupported [" + std::to_string(idx + 1) + "]";
    };
    char line[160];
    std::snprintf(line, sizeof(line), "  %-24s %-9s %-18s %s\n", "event", "kind", "per-thread",
                  "system-wide");
    out << line;
    for (const DoctorEvent& e : doctor.events) {
        const std::string t = cell(e.thread);
        const std::string s = cell(e.system);
        std::snprintf(line, sizeof(line), "  %-24s %-9s %-18s %s\n", e.name.c_str(), e.kind.c_str(),
                      t.c_str(), s.c_str());
        out << line;
    }
    for (size_t i = 0; i < reasons.size(); ++i)
        out << "  [" << i + 1 << "] " << reasons[i] << "\n";
    return out.str();
}

} // namespace copyscope
