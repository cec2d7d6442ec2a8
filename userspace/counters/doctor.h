#pragma once
// `copyscope doctor`'s view of the counters: the core PMUs, perf_event_paranoid, and for
// every selected event whether it opens and counts per thread and system-wide, with reasons.
#include <optional>
#include <string>
#include <vector>

#include "counters/counters.h"

namespace copyscope {

struct EventSupport {
    bool supported = false;
    std::string reason; // why not, when !supported
};

struct DoctorEvent {
    std::string name;
    std::string kind;
    EventSupport thread, system;
};

struct CounterDoctor {
    std::vector<CorePmuName> pmus;
    std::optional<int> perf_event_paranoid;
    std::vector<DoctorEvent> events;

    bool hybrid() const { return pmus.size() > 1; }
};

// Opens every selected event for real, briefly counts and reads.
CounterDoctor counters_doctor(const CounterOptions& options = {});
std::string render_counters_doctor(const CounterDoctor& doctor);

} // namespace copyscope
