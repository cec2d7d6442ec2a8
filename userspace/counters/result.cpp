// CounterSnapshot -> CounterResult: events per role and per machine, the derived figures,
// and notes that say plainly what could not be counted.
#include <cmath>

#include <unistd.h>

#include "counters/counters.h"

namespace copyscope {
namespace {

using Totals = std::map<std::string, EventTotal>;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

Measured<double> lookup(const Totals& totals, const std::vector<const EventDef*>& selected,
                        std::string_view name) {
    bool is_selected = false;
    for (const EventDef* e : selected)
        is_selected |= e->name == name;
    if (!is_selected) return Unsupported{std::string(name) + " not selected (--counters)"};
    auto it = totals.find(std::string(name));
    if (it == totals.end()) return Unsupported{std::string(name) + " not measured"};
    const EventTotal& t = it->second;
    if (!t.unsupported.empty()) return Unsupported{std::string(name) + ": " + t.unsupported};
    if (!t.counted()) return Unsupported{std::string(name) + ": never scheduled on a counter"};
    return t.value;
}

// numerator * scale / denominator, unsupported when either side is; a non-finite result
// is no figure either.
Measured<double> ratio(const Measured<double>& num, double scale, double denominator,
                       const std::string& denom_why) {
    if (!num) return num;
    if (!(denominator > 0)) return Unsupported{denom_why};
    const double v = *num * scale / denominator;
    if (!std::isfinite(v)) return Unsupported{""};
    return v;
}

Measured<EventCount> event_count(const EventDef& def, const EventTotal& t, bool scaled_mode,
                                 const PmuTopology& pmus) {
    if (!t.unsupported.empty()) return Unsupported{t.unsupported};
    if (t.instances > 0 && t.never_ran == t.instances)
        return Unsupported{"never scheduled on a counter (time_running 0 of " +
                           std::to_string(t.enabled) +
                           " ns enabled): more events than the PMU has counters; select fewer "
                           "with --counters"};
    EventCount c;
    c.value = t.value;
    c.unit = def.unit;
    c.kind = to_string(def.kind);
    c.raw = t.raw;
    c.running_fraction = t.running_fraction();
    c.scaled = scaled_mode && t.running < t.enabled;
    if (uses_cpu_pmu(def) && pmus.hybrid())
        for (const auto& p : pmus.core)
            c.pmus.push_back(p.name); // summed over these
    if (t.never_ran > 0)
        c.incomplete = std::to_string(t.never_ran) + " of " + std::to_string(t.instances) +
                       " instances never ran on a counter; value undercounts";
    return c;
}

EventCounts event_counts(const std::vector<const EventDef*>& selected, const Totals& totals,
                         bool scaled_mode, const PmuTopology& pmus) {
    EventCounts out;
    for (const EventDef* e : selected) {
        auto it = totals.find(std::string(e->name));
        out[std::string(e->name)] = it == totals.end()
                                        ? Measured<EventCount>(Unsupported{"not measured"})
                                        : event_count(*e, it->second, scaled_mode, pmus);
    }
    return out;
}

DerivedFigures derived(const Totals& totals, const std::vector<const EventDef*>& selected,
                       uint64_t bytes, double seconds, const Measured<double>& cpu_seconds) {
    const std::string no_bytes = "no bytes moved in this cell";
    const std::string no_time = "the cell has no duration";
    const double b = double(bytes);
    DerivedFigures d;
    d.cycles_per_byte = ratio(lookup(totals, selected, "cycles"), 1, b, no_bytes);
    d.instructions_per_byte = ratio(lookup(totals, selected, "instructions"), 1, b, no_bytes);
    d.cache_misses_per_kib = ratio(lookup(totals, selected, "cache-misses"), 1024, b, no_bytes);
    d.context_switches_per_second =
        ratio(lookup(totals, selected, "context-switches"), 1, seconds, no_time);
    d.cpu_seconds_per_gib = ratio(cpu_seconds, kGiB, b, no_bytes);
    return d;
}

double clock_ticks_per_second() {
    const long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? double(hz) : 100.0;
}

uint64_t busy_ticks(const CpuTimes& t) {
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal;
}

CpuTime cpu_time(const CpuTimes& before, const CpuTimes& after) {
    const double hz = clock_ticks_per_second();
    auto secs = [&](uint64_t CpuTimes::*field) {
        return double(after.*field - before.*field) / hz;
    };
    CpuTime c;
    c.user_seconds = secs(&CpuTimes::user) + secs(&CpuTimes::nice);
    c.system_seconds = secs(&CpuTimes::system);
    c.softirq_seconds = secs(&CpuTimes::softirq);
    c.irq_seconds = secs(&CpuTimes::irq);
    c.steal_seconds = secs(&CpuTimes::steal);
    c.idle_seconds = secs(&CpuTimes::idle) + secs(&CpuTimes::iowait);
    c.busy_seconds = double(busy_ticks(after) - busy_ticks(before)) / hz;
    c.resolution_seconds = 1.0 / hz;
    return c;
}

bool wants_hardware(const CounterSnapshot& snap) {
    for (const EventDef* e : snap.events)
        if (uses_cpu_pmu(*e)) return true;
    return false;
}

void pmu_notes(const CounterSnapshot& snap, std::vector<std::string>& notes) {
    if (!wants_hardware(snap)) return;
    if (snap.pmus.core.empty())
        notes.push_back("no core PMU under /sys/bus/event_source/devices: hardware and cache "
                        "events cannot be counted on this machine (typical of a VM)");
    if (snap.pmus.hybrid()) {
        std::string list;
        for (const auto& p : snap.pmus.core)
            list += (list.empty() ? "" : ", ") + p.name;
        notes.push_back("hybrid CPU: hardware and cache events opened on each core PMU (" + list +
                        ") and summed; per-thread values are raw sums, not scaled");
    }
}

// Per thread, summed per role; `both` gets sender + receiver, the derived figures' input.
ThreadCounts thread_counts(const CounterSnapshot& snap, Totals& both,
                           std::vector<std::string>& notes) {
    ThreadCounts out;
    for (const auto* role : {&snap.sender, &snap.receiver}) {
        const bool is_sender = role == &snap.sender;
        const std::string name = is_sender ? "sender" : "receiver";
        Measured<RoleCounts>& slot = is_sender ? out.sender : out.receiver;
        if (!snap.thread_unsupported.empty()) {
            slot = Unsupported{snap.thread_unsupported};
            continue;
        }
        if (role->threads == 0) {
            slot = Unsupported{"no " + name + " thread reported to the counters"};
            // A cell whose receiver is a sink on another host (nic) has no receiver
            // thread here: the derived figures are then this host's, the sender's.
            if (is_sender)
                for (const EventDef* e : snap.events)
                    both[std::string(e->name)].add_unsupported("no " + name + " thread counted");
            else
                notes.push_back("no receiver thread on this host (the receiver is a sink "
                                "elsewhere): per-thread figures are the sender's alone");
            continue;
        }
        slot = RoleCounts{role->threads,
                          event_counts(snap.events, role->totals, !snap.pmus.hybrid(), snap.pmus)};
        for (const auto& [ev, total] : role->totals)
            both[ev].merge(total);
    }
    return out;
}

// Every CPU of the machine; its cpu_seconds_per_gib comes from /proc/stat busy time.
void system_counts(const CounterSnapshot& snap, uint64_t bytes, double seconds, CounterResult& r) {
    if (!snap.system_unsupported.empty()) {
        r.system = Measured<SystemCounts>(Unsupported{snap.system_unsupported});
        return;
    }
    SystemCounts s;
    s.cpus = snap.cpus;
    s.events = event_counts(snap.events, snap.system, true, snap.pmus);
    Measured<double> busy = Unsupported{"no /proc/stat CPU times"};
    if (snap.cpu_before.valid && snap.cpu_after.valid) {
        s.cpu_time = cpu_time(snap.cpu_before, snap.cpu_after);
        busy = s.cpu_time->busy_seconds;
    }
    r.system = std::move(s);
    r.derived_system = derived(snap.system, snap.events, bytes, seconds, busy);
    r.notes.push_back("system scope counts every CPU of the machine, other work included; "
                      "its task-clock is time enabled per CPU (idle included), so its "
                      "cpu_seconds_per_gib comes from /proc/stat busy time");
}

// Say plainly when no hardware event could be counted (this VM), with the reason.
void hardware_note(const CounterSnapshot& snap, const Totals& totals,
                   std::vector<std::string>& notes) {
    if (!wants_hardware(snap)) return;
    std::string reason;
    for (const EventDef* e : snap.events) {
        if (!uses_cpu_pmu(*e)) continue;
        const Measured<double> f = lookup(totals, snap.events, e->name);
        if (f) return;
        if (reason.empty()) reason = f.reason();
    }
    notes.push_back("hardware events unsupported, only software events counted (" + reason + ")");
}

} // namespace

CounterResult counter_result(const CounterSnapshot& snap, uint64_t bytes, double seconds) {
    CounterResult r;
    for (const EventDef* e : snap.events)
        r.events.push_back(std::string(e->name));
    for (const auto& p : snap.pmus.core)
        r.pmus.push_back({p.name, p.type});
    r.notes = snap.notes;
    pmu_notes(snap, r.notes);
    const bool thread = snap.scope != CounterScope::system;
    const bool system = snap.scope != CounterScope::thread;
    Totals both; // sender + receiver
    if (thread) {
        r.thread = thread_counts(snap, both, r.notes);
        const Measured<double> task = lookup(both, snap.events, "task-clock");
        const Measured<double> cpu_s = task ? Measured<double>(*task / 1e9) : task;
        r.derived_thread = derived(both, snap.events, bytes, seconds, cpu_s);
    }
    if (system) system_counts(snap, bytes, seconds, r);
    hardware_note(snap, thread ? both : snap.system, r.notes);
    return r;
}

} // namespace copyscope
