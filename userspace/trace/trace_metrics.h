#pragma once
// The trace's counters in the Prometheus text exposition format (the families proposed in
// metrics/exposition.h): per process (comm), cgroup and protocol, the bytes sent by path,
// copied later (by namespace), copied on receive, retransmitted, the zerocopy completions,
// the connections; what did not fit the table; the tracer's hooks and missed events. A
// figure this kernel cannot give is not exported (never 0): copyscope_hook_info says why.
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/exposition.h"
#include "model/hook.h"
#include "trace/assemble.h"

namespace copyscope {

struct TraceMetricsInput {
    const TraceLedger* ledger = nullptr;
    const std::vector<HookUse>* hooks = nullptr;
    Untracked untracked;
    uint64_t missed_events = 0;
    std::string version, kernel, scope;
};

std::vector<MetricFamily> trace_metrics(const TraceMetricsInput& in);

} // namespace copyscope
