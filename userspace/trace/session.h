#pragma once
// `copyscope trace`: one session from scope to report.
//   1. everything the user gave is checked before anything starts (exit 2: not root, no such
//      pid, a cgroup v1 path, COMMAND not found, a port in use for --metrics, ...);
//   2. the tracer is loaded with the per-socket table and the scope (bpf/sockets.bpf.h), the
//      scope's maps filled, COMMAND started in a cgroup of its own;
//   3. every --interval the table is read into the ledger: live view on stderr, metrics;
//   4. the trace ends when COMMAND exits, after --duration, when the traced processes are
//      all gone (--pid), or on SIGINT/SIGTERM; the report is written in every case and says
//      which. The exit status is COMMAND's when it exited, 128+N after signal N without
//      COMMAND, else 0.
#include <string>
#include <vector>

#include "trace/scope.h"

namespace copyscope {

inline constexpr double kDefaultTraceInterval = 1.0;
inline constexpr const char* kDefaultTraceOutput = "copyscope-trace.json";

struct TraceOptions {
    TraceRequest request;
    double duration_seconds = 0; // 0: until COMMAND exits, the processes exit, or a signal
    double interval_seconds = kDefaultTraceInterval;
    bool quiet = false;
    std::string output = kDefaultTraceOutput;
    std::string metrics; // ADDR:PORT to serve Prometheus metrics on; empty: none
    std::string hooks = "auto";
    std::vector<std::string> command_line;
};

// Runs the session; returns the exit status. UsageError before anything starts; RunError
// when the tracer cannot be loaded.
int run_trace(const TraceOptions& options);

} // namespace copyscope
