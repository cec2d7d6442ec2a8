#pragma once
// Hardware and software counters in every cell: a CellObserver that counts per thread
// (summed per role) and per CPU system-wide, and writes result.counters.
//
// result.counters (null when no event is selected):
// {
//   "events": ["cycles", ...],            selected, table order
//   "scopes": ["thread", "system"],
//   "pmus": [{"name": "cpu", "type": 4}], core PMUs; [] when none is visible (VM)
//   "hybrid": false,                      true: hardware events opened on each PMU and summed
//   "thread": {                           per-thread counters, summed per role
//     "sender":   {"threads": 1, "events": {<event>: <value>, ...}},
//     "receiver": {"threads": 1, "events": {...}}},
//   "system": {                           every online CPU, whole machine (softirq, kthreads)
//     "cpus": [0, 1], "events": {...},
//     "cpu_time": {"user_seconds": .., "system_seconds": .., "softirq_seconds": ..,
//                  "irq_seconds": .., "busy_seconds": .., "idle_seconds": ..}}, /proc/stat
//   "derived": {"thread": {<figure>: <number or {"unsupported": why}>}, "system": {...}},
//   "notes": ["..."],
//   "summary": "task-clock 0.85 CPU-s/GiB, 14306 cs/s, hw: unsupported (ENOENT)"
// }
// <value> is {"value": 1234.0, "unit": "count"|"ns", "kind": "hardware"|"cache"|"software",
//             "raw": 1234, "running_fraction": 1.0, "scaled": false}
//   (+ "pmus": [...] on hybrid, "incomplete": "..." when some instances never ran)
// or {"unsupported": "ENOENT (No such file or directory): ..."} -- never a 0 in disguise.
// A scope that could not be opened at all is {"unsupported": why} in place of its object.
// Derived figures: cycles_per_byte, instructions_per_byte, cache_misses_per_kib,
// context_switches_per_second, cpu_seconds_per_gib.
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "counters/events.h"
#include "counters/perf_counter.h"
#include "counters/pmu.h"
#include "report/cell.h"
#include "runner/observer.h"

namespace copyscope {

enum class CounterScope { thread, system, both };

// "thread" | "system" | "both"; throws UsageError naming the value and the allowed ones.
CounterScope parse_counter_scope(const std::string& text);
std::string_view to_string(CounterScope s);

struct CounterOptions {
    std::vector<const EventDef*> events = parse_counter_selection("default");
    CounterScope scope = CounterScope::both;
    std::filesystem::path sysfs_root = "/sys"; // tests point this at a fake tree
    std::filesystem::path proc_stat = "/proc/stat";
};

std::unique_ptr<CellObserver> make_counters(const CounterOptions& options);

// CPU time per state from /proc/stat, summed over CPUs, in USER_HZ ticks.
struct CpuTimes {
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    bool valid = false;
};
CpuTimes read_cpu_times(const std::filesystem::path& proc_stat = "/proc/stat");

// What one cell measured, before it becomes JSON (a pure step, so tests can check the shape).
struct CounterSnapshot {
    std::vector<const EventDef*> events;
    CounterScope scope = CounterScope::both;
    PmuTopology pmus;
    struct Role {
        unsigned threads = 0;
        std::map<std::string, EventTotal> totals; // by event name
    };
    Role sender, receiver;
    std::string thread_unsupported; // non-empty: no thread counters at all, and why
    std::vector<int> cpus;
    std::map<std::string, EventTotal> system; // by event name
    std::string system_unsupported;
    CpuTimes cpu_before, cpu_after;
    std::vector<std::string> notes;
};
nlohmann::json counters_json(const CounterSnapshot& snap, uint64_t bytes, double seconds);

// For `copyscope doctor`: which selected events open, per scope, with reasons.
// {"pmus": [...], "hybrid": b, "perf_event_paranoid": n,
//  "events": [{"name": "cycles", "kind": "hardware",
//              "thread": {"supported": false, "reason": "..."},
//              "system": {"supported": true}}, ...]}
nlohmann::json counters_doctor(const CounterOptions& options = {});
std::string render_counters_doctor(const nlohmann::json& doctor);

// One short line for a summary table from result.counters, e.g.
// "task-clock 1.23 CPU-s/GiB, 812 cs/s, hw: unsupported (ENOENT)" or "counters: none".
std::string counters_summary(const nlohmann::json& counters);

} // namespace copyscope
