#pragma once
// One cell of a run: what it asked for (CellSpec) and what it found (CellResult): the
// runner's own counts and checks, and what the observers added (the copy ledger, the perf
// counters). Everything here is a plain value; report/ turns it into JSON and back.
#include <optional>
#include <string>
#include <vector>

#include "model/app.h"
#include "model/counters.h"
#include "model/ledger.h"
#include "model/spec.h"
#include "model/tracer_cost.h"

namespace copyscope {

struct CellResult {
    CellSpec spec;
    double seconds = 0; // wall time from first send to last byte received, all repetitions
    AppCounts app;
    ThroughputStats throughput;
    std::optional<LatencyStats> latency;
    std::optional<ZerocopyStats> zerocopy;
    std::vector<Check> checks;
    std::string error;            // non-empty: the cell failed and says why
    std::optional<Ledger> ledger; // nullopt: not traced
    // --hooks both: the same counts read through the tracepoint forms of the hooks.
    std::optional<Ledger> tracepoint_ledger;
    std::optional<CounterResult> counters; // nullopt: not measured
    // What the tracer's BPF programs cost; nullopt: not traced.
    std::optional<Measured<TracerCost>> tracer_cost;

    double gbits_per_second() const;
    double messages_per_second() const;
    double microseconds_per_message() const;
    bool passed() const; // no error and every check passed
    // The machine's busy CPU seconds during the cell, when the counters measured them.
    std::optional<double> busy_cpu_seconds() const;
    // The tracer's cost per byte sent and as a share of the cell's CPU time, when measured.
    std::optional<TracerCostShare> tracer_cost_share() const;

    bool operator==(const CellResult&) const = default;
};

} // namespace copyscope
