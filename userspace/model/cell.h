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

namespace copyscope {

struct CellResult {
    CellSpec spec;
    double seconds = 0; // wall time from first send to last byte received, all repetitions
    AppCounts app;
    ThroughputStats throughput;
    std::optional<LatencyStats> latency;
    std::optional<ZerocopyStats> zerocopy;
    std::vector<Check> checks;
    std::string error;                     // non-empty: the cell failed and says why
    std::optional<Ledger> ledger;          // nullopt: not traced
    std::optional<CounterResult> counters; // nullopt: not measured
    std::optional<IoUringStats> io_uring;  // io_uring strategies
    std::optional<SendfileStats> sendfile; // sendfile

    double gbits_per_second() const;
    double messages_per_second() const;
    double microseconds_per_message() const;
    bool passed() const; // no error and every check passed

    bool operator==(const CellResult&) const = default;
};

} // namespace copyscope
