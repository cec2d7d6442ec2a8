#pragma once
// The events copyscope counts with perf_event_open, and how a user selects them.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace copyscope {

enum class EventKind {
    hardware, // PERF_TYPE_HARDWARE: counted by the CPU's PMU
    cache,    // PERF_TYPE_HW_CACHE: also the CPU's PMU
    software  // PERF_TYPE_SOFTWARE: counted by the kernel, works everywhere
};

struct EventDef {
    std::string_view name; // as perf names it: "cycles", "task-clock", ...
    EventKind kind;
    uint32_t type;         // PERF_TYPE_*
    uint64_t config;       // PERF_COUNT_* (without any PMU type in bits 32+)
    std::string_view unit; // "count" or "ns"
};

// Every event copyscope knows, hardware and cache events first.
std::span<const EventDef> all_events();
const EventDef* find_event(std::string_view name);
bool uses_cpu_pmu(const EventDef& e); // hardware or cache: needs a core PMU
std::string_view to_string(EventKind k);

// "default": every event; "none": nothing; else a comma list of event names.
// Throws UsageError naming the bad value and the allowed names. Duplicates collapse;
// the result keeps the table's order.
std::vector<const EventDef*> parse_counter_selection(const std::string& text);

// An errno from perf_event_open in words: its name, strerror, and what it means for a
// counter ("ENOENT (No such file or directory): this kernel/CPU has no such event ...").
std::string perf_errno_reason(int err);

} // namespace copyscope
