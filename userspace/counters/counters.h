#pragma once
// Hardware and software counters in every cell: a CellObserver that counts per thread
// (summed per role) and per CPU system-wide, and gives result.counters (a CounterResult,
// model/counters.h): per thread ("sender", "receiver": threads and events), system-wide
// (cpus, events, /proc/stat CPU time), the derived figures per scope, and notes. Every
// event or figure is counted or unsupported with the reason -- never a 0 in disguise.
// Derived figures: cycles_per_byte, instructions_per_byte, cache_misses_per_kib,
// context_switches_per_second, cpu_seconds_per_gib.
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "counters/events.h"
#include "counters/perf_counter.h"
#include "counters/pmu.h"
#include "model/counters.h"
#include "model/observer.h"

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

// What one cell measured, as read from the counters.
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

// The cell's counters from what was read, `bytes` sent in `seconds` (a pure step, so tests
// can check the figures).
CounterResult counter_result(const CounterSnapshot& snap, uint64_t bytes, double seconds);

} // namespace copyscope
