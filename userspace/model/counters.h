#pragma once
// The perf counters of one cell as a value: per thread (summed per role) and system-wide,
// each event counted or unsupported with the reason, and the figures derived from them.
// counters/ measures it; report/ writes it as JSON and reads it back.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/measured.h"

namespace copyscope {

// One event's total over its instances (threads, CPUs, PMUs).
struct EventCount {
    double value = 0; // summed, scaled where the counter was multiplexed
    std::string unit; // "count" or "ns"
    std::string kind; // "hardware", "cache" or "software"
    uint64_t raw = 0; // summed raw values
    double running_fraction = 1;
    bool scaled = false;           // value was scaled up from time running
    std::vector<std::string> pmus; // hybrid CPUs: the core PMUs summed over
    std::string incomplete;        // some instances never ran, and how many; empty: none

    bool operator==(const EventCount&) const = default;
};

using EventCounts = std::map<std::string, Measured<EventCount>>; // by event name

struct RoleCounts {
    unsigned threads = 0;
    EventCounts events;

    bool operator==(const RoleCounts&) const = default;
};

struct ThreadCounts {
    Measured<RoleCounts> sender;
    Measured<RoleCounts> receiver;

    bool operator==(const ThreadCounts&) const = default;
};

// CPU time of the whole machine during the cell, from /proc/stat.
struct CpuTime {
    double user_seconds = 0, system_seconds = 0, softirq_seconds = 0, irq_seconds = 0;
    double steal_seconds = 0, idle_seconds = 0, busy_seconds = 0, resolution_seconds = 0;

    bool operator==(const CpuTime&) const = default;
};

struct SystemCounts {
    std::vector<int> cpus;
    EventCounts events;
    std::optional<CpuTime> cpu_time;

    bool operator==(const SystemCounts&) const = default;
};

// Figures derived per byte or per second from one scope's events.
struct DerivedFigures {
    Measured<double> cycles_per_byte;
    Measured<double> instructions_per_byte;
    Measured<double> cache_misses_per_kib;
    Measured<double> context_switches_per_second;
    Measured<double> cpu_seconds_per_gib;

    bool operator==(const DerivedFigures&) const = default;
};

struct DerivedFigureDef {
    std::string_view key;
    Measured<double> DerivedFigures::*field;
};

inline constexpr DerivedFigureDef derived_figures[] = {
    {"cycles_per_byte", &DerivedFigures::cycles_per_byte},
    {"instructions_per_byte", &DerivedFigures::instructions_per_byte},
    {"cache_misses_per_kib", &DerivedFigures::cache_misses_per_kib},
    {"context_switches_per_second", &DerivedFigures::context_switches_per_second},
    {"cpu_seconds_per_gib", &DerivedFigures::cpu_seconds_per_gib},
};

struct CorePmuName {
    std::string name;
    uint32_t type = 0;

    bool operator==(const CorePmuName&) const = default;
};

struct CounterResult {
    std::vector<std::string> events;              // selected, in table order
    std::vector<CorePmuName> pmus;                // core PMUs; empty when none is visible (VM)
    std::optional<ThreadCounts> thread;           // thread scope
    std::optional<Measured<SystemCounts>> system; // system scope
    std::optional<DerivedFigures> derived_thread; // thread scope
    std::optional<DerivedFigures> derived_system; // system scope, when it could be opened
    std::vector<std::string> notes;

    // Several core PMUs: hardware events were opened on each and summed.
    bool hybrid() const { return pmus.size() > 1; }

    bool operator==(const CounterResult&) const = default;
};

} // namespace copyscope
