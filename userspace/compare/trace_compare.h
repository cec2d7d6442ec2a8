#pragma once
// `copyscope compare A.json B.json` for two trace reports (`copyscope trace -o`): the scope's
// totals, each process matched by its command name (comm), and each of its connections
// matched by protocol and service port, side by side with the same deltas as a run's cells.
//
// A connection's service port is the lower of its two ports: the server's, since clients'
// ephemeral ports are the high ones (net.ipv4.ip_local_port_range) and change from run to
// run. Several connections of one process on one service port (iperf3's control and data
// connections) are paired in order of bytes sent, largest first. Processes with one comm are
// paired likewise, by the bytes they sent.
//
// Pure below run_trace_compare: typed reports in, values out.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "compare/delta.h"
#include "model/trace.h"
#include "report/trace_report.h"

namespace copyscope {

// One matched row: the scope's totals, a process's totals, or one connection.
struct TraceRowComparison {
    std::string where; // "scope", "iperf3", "iperf3 tcp port 5201 #1"
    std::vector<MetricDelta> metrics;
    std::optional<std::string> verdict_a, verdict_b; // connections only
};

struct TraceSideSummary {
    std::string path, kernel_release, started_at, scope;
    double duration_seconds = 0;
};

struct TraceComparison {
    TraceSideSummary baseline, candidate;
    double threshold_percent = 5.0;
    std::vector<TraceRowComparison> rows;
    std::vector<std::string> only_baseline, only_candidate; // processes and connections
    // One line per metric that regressed beyond the threshold.
    std::vector<std::string> regressions() const;
};

// The metrics of one ledger on both sides: bytes sent (shown), send copies per byte, each
// byte figure per byte sent, and the completions flagged COPIED per completed send.
std::vector<MetricDelta> trace_metrics(const TraceFigures& a, const TraceFigures& b,
                                       double threshold_percent);

TraceComparison compare_traces(const TraceReport& baseline, const TraceReport& candidate,
                               double threshold_percent, const std::string& baseline_path,
                               const std::string& candidate_path);

std::string render_trace_table(const TraceComparison& c);
nlohmann::json to_json(const TraceComparison& c);

} // namespace copyscope
