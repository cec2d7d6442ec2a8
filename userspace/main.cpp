// copyscope: the command-line entry point. Parses, validates (exit 2 on bad input, before
// anything starts), runs the plan cell by cell, writes the report atomically.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "common/capabilities.h"
#include "common/errors.h"
#include "compare/compare.h"
#include "counters/counters.h"
#include "counters/doctor.h"
#include "report/csv.h"
#include "report/doctor_json.h"
#include "report/report.h"
#include "report/summary.h"
#include "runner/runner.h"
#include "runner/sink.h"
#include "strategies/io_uring_support.h"
#include "tracer/doctor.h"
#include "tracer/hooks.h"
#include "tracer/tracer.h"

using namespace copyscope;

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_signal(int sig) {
    g_signal.store(sig);
    g_stop.store(true);
    std::signal(sig, SIG_DFL); // a second Ctrl-C ends the process at once
}

void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

// The JSON report, and the CSV beside it when asked; both written atomically.
void write_outputs(const Report& report, const RunCommand& cmd) {
    nlohmann::json j = to_json(report);
    write_file_atomically(cmd.output, j.dump(2) + "\n");
    if (!cmd.csv.empty()) write_file_atomically(cmd.csv, cells_to_csv(j["cells"]));
}

int run(const RunCommand& cmd, const std::vector<std::string>& args) {
    // Every option is checked before anything starts: bad input exits 2.
    TracerOptions tracer_options;
    tracer_options.hooks = parse_hook_mode(cmd.hooks);
    CounterOptions counter_options;
    counter_options.events = parse_counter_selection(cmd.counters);
    counter_options.scope = parse_counter_scope(cmd.counter_scope);
    check_output_path(cmd.output);
    if (!cmd.csv.empty()) check_output_path(cmd.csv);
    auto missing = missing_run_capabilities(current_capabilities());
    if (!missing.empty()) {
        std::string names;
        for (auto& m : missing)
            names += (names.empty() ? "" : ", ") + m;
        throw UsageError("copyscope run creates network namespaces and loads BPF programs, "
                         "which needs root; missing capabilities: " +
                         names);
    }

    std::vector<Strategy> strategies;
    for (const CellSpec& cell : cmd.plan)
        strategies.push_back(cell.strategy);
    check_io_uring_usable(strategies); // kernel.io_uring_disabled, seccomp, old kernels

    std::vector<std::unique_ptr<CellObserver>> owned;
    if (cmd.trace) owned.push_back(make_tracer(tracer_options));
    owned.push_back(make_counters(counter_options));
    std::vector<CellObserver*> observers;
    for (auto& o : owned)
        observers.push_back(o.get());

    install_signal_handlers();
    Report report;
    report.host = probe_host();
    report.command_line = args;
    report.started_at = utc_now_iso8601();
    report.extra["preset"] = cmd.preset;
    report.extra["cpu_placement"] = std::string(
        to_string(resolve_placement(cmd.cpu_placement, CellSpec{}, allowed_cpus().size())));

    Progress progress(cmd.plan.size(), Progress::mode_for(cmd.quiet, STDERR_FILENO));
    RunnerOptions options;
    options.stop = &g_stop;
    options.cpu_placement = cmd.cpu_placement;
    options.on_repetition = [&](const CellResult& so_far) { progress.repetition(so_far); };
    int status = 0;
    for (size_t i = 0; i < cmd.plan.size() && !g_stop; ++i) {
        const CellSpec& spec = cmd.plan[i];
        progress.cell_started(i, spec);
        CellResult result;
        try {
            result = run_cell(spec, observers, options);
        } catch (const RunError& e) {
            progress.done();
            if (g_stop) break; // the signal cut the lab's setup short: an interruption
            report.complete = false;
            report.interrupted_reason = std::string("lab failed: ") + e.what();
            write_outputs(report, cmd);
            throw;
        }
        if (g_stop) break; // a cell cut short is not a measurement: leave it out
        progress.cell_finished(result);
        if (!result.passed()) status = 1;
        report.cells.push_back(std::move(result));
    }
    progress.done();
    if (g_stop) {
        report.complete = false;
        report.interrupted_reason = std::string("stopped by ") + strsignal(g_signal.load()) +
                                    " after " + std::to_string(report.cells.size()) + " of " +
                                    std::to_string(cmd.plan.size()) + " cells";
        status = 128 + g_signal.load();
    }
    write_outputs(report, cmd);
    if (!cmd.quiet) {
        std::cout << summary_table(report.cells);
        std::cout << "report: " << cmd.output << (cmd.csv.empty() ? "" : ", csv: " + cmd.csv)
                  << (report.complete ? "" : " (incomplete: " + report.interrupted_reason + ")")
                  << "\n";
    }
    if (status == 1) std::cerr << "copyscope: some cells failed their checks (see the report)\n";
    return status;
}

int doctor(const DoctorCommand& cmd) {
    const HostInfo host = probe_host();
    const TracerDoctor tracer = tracer_doctor();
    const CounterDoctor counters = counters_doctor();
    if (cmd.json) {
        nlohmann::json j;
        j["host"] = to_json(host);
        j["tracer"] = to_json(tracer);
        j["counters"] = to_json(counters);
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "cpu        " << host.cpu_model << " (" << host.cores << " cores)\n"
              << render_tracer_doctor(tracer) << "\n"
              << render_counters_doctor(counters);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv, argv + argc);
    try {
        Command command = parse_command_line(args);
        if (auto* exit = std::get_if<ExitNow>(&command)) return exit->status;
        if (auto* d = std::get_if<DoctorCommand>(&command)) return doctor(*d);
        if (auto* c = std::get_if<CompareCommand>(&command))
            return run_compare(
                CompareOptions{c->baseline, c->candidate, c->threshold_percent, c->json}, std::cout,
                std::cerr);
        if (auto* t = std::get_if<TraceCommand>(&command)) {
            TraceOptions options = t->options;
            options.command_line = args;
            return run_trace(options);
        }
        if (auto* k = std::get_if<SinkCommand>(&command)) {
            install_signal_handlers();
            return run_sink(
                SinkOptions{k->listen, k->connections, k->idle_timeout_seconds, k->quiet, &g_stop});
        }
        return run(std::get<RunCommand>(command), args);
    } catch (const UsageError& e) {
        std::cerr << "copyscope: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "copyscope: run failed: " << e.what() << "\n";
        return 1;
    }
}
