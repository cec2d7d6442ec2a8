#include "counters/events.h"

#include "common/errors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <linux/perf_event.h>

namespace copyscope {
namespace {

constexpr uint64_t cache_config(uint64_t id, uint64_t op, uint64_t result) {
    return id | (op << 8) | (result << 16);
}

constexpr EventDef kEvents[] = {
    {"cycles", EventKind::hardware, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, "count"},
    {"instructions", EventKind::hardware, PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS, "count"},
    {"cache-references", EventKind::hardware, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES,
     "count"},
    {"cache-misses", EventKind::hardware, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES, "count"},
    {"branch-misses", EventKind::hardware, PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES,
     "count"},
    {"L1-dcache-load-misses", EventKind::cache, PERF_TYPE_HW_CACHE,
     cache_config(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
                  PERF_COUNT_HW_CACHE_RESULT_MISS),
     "count"},
    {"LLC-load-misses", EventKind::cache, PERF_TYPE_HW_CACHE,
     cache_config(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                  PERF_COUNT_HW_CACHE_RESULT_MISS),
     "count"},
    {"LLC-store-misses", EventKind::cache, PERF_TYPE_HW_CACHE,
     cache_config(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_WRITE,
                  PERF_COUNT_HW_CACHE_RESULT_MISS),
     "count"},
    {"task-clock", EventKind::software, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK, "ns"},
    {"context-switches", EventKind::software, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES,
     "count"},
    {"cpu-migrations", EventKind::software, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS,
     "count"},
    {"page-faults", EventKind::software, PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS, "count"},
};

std::string allowed_names() {
    std::string s = "default, none";
    for (const auto& e : kEvents)
        s += ", " + std::string(e.name);
    return s;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return std::string(s);
}

} // namespace

std::span<const EventDef> all_events() {
    return kEvents;
}

const EventDef* find_event(std::string_view name) {
    for (const auto& e : kEvents)
        if (e.name == name) return &e;
    return nullptr;
}

bool uses_cpu_pmu(const EventDef& e) {
    return e.kind != EventKind::software;
}

std::string_view to_string(EventKind k) {
    switch (k) {
    case EventKind::hardware:
        return "hardware";
    case EventKind::cache:
        return "cache";
    case EventKind::software:
        return "software";
    }
    return "?";
}

std::vector<const EventDef*> parse_counter_selection(const std::string& text) {
    const std::string value = trim(text);
    std::vector<const EventDef*> out;
    if (value == "default") {
        for (const auto& e : kEvents)
            out.push_back(&e);
        return out;
    }
    if (value == "none") return out;
    if (value.empty()) throw UsageError("--counters: empty value; allowed: " + allowed_names());
    std::vector<bool> chosen(std::size(kEvents), false);
    size_t start = 0;
    while (start <= value.size()) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        const std::string name = trim(std::string_view(value).substr(start, comma - start));
        const EventDef* e = find_event(name);
        if (!e) {
            const std::string what = name.empty() ? "empty event name in '" + value + "'"
                                                  : "unknown event '" + name + "'";
            throw UsageError("--counters: " + what + "; allowed: " + allowed_names());
        }
        chosen[size_t(e - kEvents)] = true;
        start = comma + 1;
    }
    for (size_t i = 0; i < std::size(kEvents); ++i)
        if (chosen[i]) out.push_back(&kEvents[i]);
    return out;
}

std::string perf_errno_reason(int err) {
    const char* name = strerrorname_np(err);
    std::string words =
        std::string(name ? name : "errno " + std::to_string(err)) + " (" + std::strerror(err) + ")";
    switch (err) {
    case ENOENT:
        return words + ": the kernel offers no such event here (no hardware PMU exposed, "
                       "e.g. inside a VM, or the CPU lacks this event)";
    case EOPNOTSUPP:
        return words + ": the PMU cannot count this event in this mode";
    case ENODEV:
        return words + ": no PMU for this event on this CPU";
    case EACCES:
    case EPERM:
        // copyscope counts kernel work too (exclude_kernel=0), which paranoid 2 forbids.
        return words + ": not allowed; counting kernel work needs CAP_PERFMON (or root) or "
                       "/proc/sys/kernel/perf_event_paranoid <= 1 (system-wide: <= 0)";
    case EINVAL:
        return words + ": the PMU rejected the event attributes";
    case EBUSY:
        return words + ": the PMU is held exclusively by another user";
    case EMFILE:
    case ENFILE:
        return words + ": out of file descriptors for counters";
    case ENOSPC:
        return words + ": no hardware counter free for this event";
    default:
        return words;
    }
}

} // namespace copyscope
