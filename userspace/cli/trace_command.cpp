// `copyscope trace`: its options and their validation. What needs the system (the scope's
// pids, cgroup, namespaces, COMMAND, the metrics port) is checked by the session, still
// before anything starts.
#include <memory>

#include "cli/subcommands.h"
#include "common/errors.h"
#include "metrics/server.h"
#include "tracer/hooks.h"

namespace copyscope {

namespace {

void check_seconds(const char* option, double value, double min_exclusive) {
    if (!(value > min_exclusive) || value > kMaxDurationSeconds * 24)
        throw UsageError(std::string(option) + ": " + std::to_string(value) +
                         " is not a number of seconds above " + std::to_string(min_exclusive) +
                         " and at most " + std::to_string(kMaxDurationSeconds * 24));
}

} // namespace

Subcommand add_trace_command(CLI::App& app) {
    auto cmd = std::make_shared<TraceCommand>();
    TraceOptions& o = cmd->options;
    CLI::App* trace = app.add_subcommand(
        "trace", "The copy ledger of any program, per process and connection: run COMMAND in "
                 "a cgroup of its own (trace [options] -- COMMAND [ARGS...]), or follow --pid, "
                 "--cgroup or --netns; live view on stderr, a JSON report, Prometheus metrics");
    trace->add_option("--pid", o.request.pids,
                      "Existing processes PID[,PID...]: the sockets they (and their children) use");
    trace->add_option("--cgroup", o.request.cgroup,
                      "A cgroup v2 (directory, path relative to the hierarchy, or as "
                      "/proc/PID/cgroup shows it): the sockets created in it or below");
    trace->add_option("--netns", o.request.netns,
                      "A network namespace file (/run/netns/NAME, /proc/PID/ns/net): every "
                      "socket in it; with COMMAND, --pid or --cgroup, only theirs in it "
                      "(repeatable)");
    trace->add_option("--duration", o.duration_seconds,
                      "End the trace after this many seconds (COMMAND is sent SIGTERM)");
    trace
        ->add_option("--interval", o.interval_seconds,
                     "Seconds between live views and metrics updates")
        ->capture_default_str();
    trace->add_flag("--quiet,-q", o.quiet, "No live view and no summary on stderr");
    trace->add_option("-o,--output", o.output, "Write the JSON report here")->capture_default_str();
    trace->add_option("--metrics", o.metrics,
                      "Serve Prometheus metrics at ADDR:PORT while tracing (PORT alone: "
                      "127.0.0.1; 0.0.0.0:PORT for every interface)");
    trace
        ->add_option("--hooks", o.hooks,
                     "BPF hook forms: auto (exact fentry/fexit where the kernel allows) or "
                     "prefer-tracepoints")
        ->capture_default_str();
    return {trace,
            [cmd, trace] {
                TraceOptions& o = cmd->options;
                if (trace->count("--duration")) check_seconds("--duration", o.duration_seconds, 0);
                check_seconds("--interval", o.interval_seconds, 0);
                if (o.interval_seconds < 0.1) throw UsageError("--interval: at least 0.1 seconds");
                if (!o.metrics.empty()) parse_listen_address(o.metrics);
                parse_hook_mode(o.hooks);
                if (o.output.empty()) throw UsageError("-o: empty file name");
                return Command(*cmd);
            },
            true};
}

} // namespace copyscope
