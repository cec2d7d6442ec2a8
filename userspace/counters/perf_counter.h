#pragma once
// perf_event_open(2) for copyscope: opens a set of events for one thread or one CPU, in
// groups where the PMU allows, reads them with time_enabled/time_running, and adds readings
// up with the multiplexing scale.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/unique_fd.h"
#include "counters/events.h"
#include "counters/pmu.h"

namespace copyscope {

struct EventReading {
    uint64_t value = 0;
    uint64_t enabled = 0; // ns the event was enabled
    uint64_t running = 0; // ns it was really on a counter (< enabled: multiplexed)
};

// value * enabled / running: the kernel's estimate when it multiplexed the counter.
// nullopt when the event was enabled but never running (nothing to scale from).
std::optional<double> scaled_value(const EventReading& r);

// The sum of one event over instances (threads, CPUs, PMUs), or why it could not be counted.
struct EventTotal {
    double value = 0;        // sum of scaled values
    uint64_t raw = 0;        // sum of raw values
    uint64_t enabled = 0;    // summed over instances
    uint64_t running = 0;    // summed over instances
    unsigned instances = 0;  // readings added
    unsigned never_ran = 0;  // instances enabled but never on a counter
    std::string unsupported; // non-empty: first reason an instance could not be opened

    // scale=false adds raw values: for a hybrid PMU followed per thread, time not running
    // is time on the other core type, not multiplexing.
    void add(const EventReading& r, bool scale = true);
    void add_unsupported(const std::string& reason);
    void merge(const EventTotal& other);
    // running / enabled over all instances; 1 when nothing was enabled.
    double running_fraction() const;
    bool counted() const {
        return unsupported.empty() && (instances == 0 || never_ran < instances);
    }
};

// The events of one thread (pid 0 = the caller, cpu -1) or one CPU (pid -1, cpu >= 0).
class CounterSet {
  public:
    struct Instance {
        std::string pmu; // core PMU name; empty for software events or no PMU
        UniqueFd fd;
        int group = -1; // index into leaders_
    };
    struct Event {
        const EventDef* def = nullptr;
        std::vector<Instance> instances;
        std::string unsupported; // non-empty: an instance failed to open
    };
    struct Sample {
        const EventDef* def = nullptr;
        std::vector<std::pair<std::string, EventReading>> readings; // per PMU
        std::string unsupported;
    };

    CounterSet() = default;
    // Opens every event, disabled. Never throws for an event the machine cannot count: that
    // event carries its reason instead.
    static CounterSet open(std::span<const EventDef* const> events, const PmuTopology& pmus,
                           pid_t pid, int cpu);
    void enable();
    void disable();
    std::vector<Sample> read() const;
    const std::vector<Event>& events() const { return events_; }
    size_t groups() const { return leaders_.size(); }

  private:
    std::vector<Event> events_;
    std::vector<int> leaders_; // group leader fds (owned by an Instance)
};

} // namespace copyscope
