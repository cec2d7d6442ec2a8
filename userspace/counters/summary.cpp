#include "counters/summary.h"

#include <vector>

#include "common/format.h"
#include "counters/events.h"

namespace copyscope {
namespace {

// The event counts the hardware check looks at: per role, or the machine's.
std::vector<const EventCounts*> event_sets(const CounterResult& r, bool thread) {
    std::vector<const EventCounts*> sets;
    if (thread) {
        if (r.thread)
            for (const Measured<RoleCounts>* role : {&r.thread->sender, &r.thread->receiver})
                if (*role) sets.push_back(&(*role)->events);
    } else if (r.system && *r.system) {
        sets.push_back(&(*r.system)->events);
    }
    return sets;
}

// Hardware events: say plainly when none could be counted, with the errno's name.
std::string hardware_part(const CounterResult& r, bool thread) {
    const std::vector<const EventCounts*> sets = event_sets(r, thread);
    unsigned selected = 0, counted = 0;
    std::string reason;
    for (const std::string& name : r.events) {
        const EventDef* def = find_event(name);
        if (!def || !uses_cpu_pmu(*def)) continue;
        ++selected;
        bool ok = !sets.empty();
        for (const EventCounts* events : sets) {
            auto it = events->find(name);
            if (it == events->end()) {
                ok = false;
            } else if (!it->second) {
                ok = false;
                if (reason.empty()) reason = it->second.reason();
            }
        }
        counted += ok;
    }
    if (selected > 0 && counted == 0) {
        const std::string code = reason.substr(0, reason.find(' '));
        return "hw: unsupported" + (code.empty() ? "" : " (" + code + ")");
    }
    if (counted < selected)
        return "hw: " + std::to_string(selected - counted) + " of " + std::to_string(selected) +
               " unsupported";
    return "";
}

} // namespace

std::string counters_summary(const std::optional<CounterResult>& counters) {
    if (!counters) return "counters: none";
    const CounterResult& r = *counters;
    const bool thread = r.derived_thread.has_value();
    const DerivedFigures* d = thread             ? &*r.derived_thread
                              : r.derived_system ? &*r.derived_system
                                                 : nullptr;
    std::vector<std::string> parts;
    if (d) {
        if (d->cpu_seconds_per_gib)
            parts.push_back(std::string(thread ? "task-clock" : "busy") + " " +
                            significant(*d->cpu_seconds_per_gib, 3) + " CPU-s/GiB");
        if (d->context_switches_per_second)
            parts.push_back(fixed(*d->context_switches_per_second, 0) + " cs/s");
        if (d->cycles_per_byte) parts.push_back(fixed(*d->cycles_per_byte, 2) + " cycles/B");
        if (d->instructions_per_byte)
            parts.push_back(fixed(*d->instructions_per_byte, 2) + " instr/B");
    }
    const std::string hw = hardware_part(r, thread);
    if (!hw.empty()) parts.push_back(hw);
    if (parts.empty()) return "counters: no figures";
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : ", ") + p;
    return out;
}

} // namespace copyscope
