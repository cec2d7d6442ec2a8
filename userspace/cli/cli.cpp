#include "cli/cli.h"

#include <cmath>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/size.h"
#include "common/errors.h"
#include "strategies/message.h"

namespace copyscope {

namespace {

std::string strategy_names() {
    std::string names;
    for (Strategy s : all_strategies) names += std::string(to_string(s)) + ", ";
    return names + "all";
}

std::vector<Strategy> parse_strategies(const std::vector<std::string>& items) {
    std::vector<Strategy> out;
    for (const std::string& item : items) {
        if (item == "all") {
            out.assign(std::begin(all_strategies), std::end(all_strategies));
            continue;
        }
        auto s = strategy_from_string(item);
        if (!s) throw UsageError("--strategy '" + item + "': unknown strategy (allowed: " +
                                 strategy_names() + ")");
        out.push_back(*s);
    }
    return out;
}

std::vector<Transport> parse_transports(const std::vector<std::string>& items) {
    std::vector<Transport> out;
    for (const std::string& item : items) {
        auto t = transport_from_string(item);
        if (!t)
            throw UsageError("--transport '" + item + "': unknown transport (allowed: veth, loopback)");
        out.push_back(*t);
    }
    return out;
}

std::vector<uint64_t> parse_sizes(const std::vector<std::string>& items) {
    std::vector<uint64_t> out;
    for (const std::string& item : items) {
        uint64_t size = parse_size(item, "--size");
        if (size < kMinMessageSize || size > kMaxMessageSize)
            throw UsageError("--size '" + item + "': a message is 8 fields, so its size must be " +
                             "from 8 bytes to 16MiB (" + std::to_string(kMaxMessageSize) + ")");
        out.push_back(size);
    }
    return out;
}

std::vector<unsigned> parse_threads(const std::vector<std::string>& items) {
    std::vector<unsigned> out;
    for (const std::string& item : items) {
        size_t used = 0;
        long value = -1;
        try {
            value = std::stol(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (used != item.size() || value < 1 || value > long(kMaxThreads))
            throw UsageError("--threads '" + item + "': must be a whole number from 1 to " +
                             std::to_string(kMaxThreads));
        out.push_back(unsigned(value));
    }
    return out;
}

template <typename T> void dedupe(std::vector<T>& v) {
    std::vector<T> out;
    for (const T& x : v)
        if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    v = std::move(out);
}

} // namespace

std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, double duration_seconds,
                                uint64_t bytes, bool verify_payload) {
    std::vector<CellSpec> plan;
    for (Transport t : transports)
        for (Strategy s : strategies)
            for (uint64_t size : sizes)
                for (unsigned n : threads)
                    plan.push_back(CellSpec{s, t, size, n, duration_seconds, bytes, verify_payload});
    return plan;
}

Command parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{"copyscope: proves, byte by byte, where the kernel copies the data a program "
                 "sends over TCP"};
    app.name("copyscope");
    app.set_version_flag("--version", std::string("copyscope ") + COPYSCOPE_VERSION);
    app.require_subcommand(1);

    CLI::App* run = app.add_subcommand(
        "run", "Run send strategies in a lab, trace the kernel's copies, write a JSON report");
    std::vector<std::string> strategies{"all"}, sizes{"256", "4K", "64K"}, threads{"1", "2"},
        transports{"veth"};
    std::optional<double> duration;
    std::optional<std::string> bytes_text;
    RunCommand cmd;
    bool verify = false, no_trace = false;
    run->add_option("--strategy,-s", strategies,
                    "Send strategies, repeatable or comma-separated: " + strategy_names())
        ->delimiter(',')
        ->capture_default_str();
    run->add_option("--size", sizes,
                    "Message sizes, repeatable or comma-separated; 8 bytes to 16MiB, "
                    "with K/M suffixes (64, 4K, 64KiB, 1M)")
        ->delimiter(',')
        ->capture_default_str();
    run->add_option("--threads,-t", threads,
                    "Connection counts, repeatable or comma-separated; each connection has its "
                    "own sender and receiver thread (1 to 256)")
        ->delimiter(',')
        ->capture_default_str();
    run->add_option("--duration,-d", duration,
                    "Seconds each cell sends for (default 2 when --bytes is not given)");
    run->add_option("--bytes,-b", bytes_text,
                    "Bytes each cell sends, in whole messages (e.g. 64M); instead of --duration");
    run->add_option("--transport", transports,
                    "Where the traffic runs: veth (two namespaces joined by a veth pair) or "
                    "loopback (one namespace, lo)")
        ->delimiter(',')
        ->capture_default_str();
    run->add_flag("--verify-payload", verify,
                  "Fill every message with a position-dependent pattern and check every "
                  "received byte");
    run->add_option("--output,-o", cmd.output, "Where to write the JSON report")
        ->capture_default_str();
    run->add_flag("--quiet,-q", cmd.quiet, "Print nothing but errors (the report is still written)");
    run->add_flag("--no-trace", no_trace,
                  "Do not load the BPF tracer (no copy ledger; for measuring its overhead)");
    run->add_option("--hooks", cmd.hooks,
                    "Hook forms: auto (preferred fentry/kprobe where the kernel allows, else "
                    "tracepoints) or prefer-tracepoints")
        ->capture_default_str();
    run->add_option("--counters", cmd.counters,
                    "perf counters: default, none, or a comma-separated list of event names")
        ->capture_default_str();
    run->add_option("--counter-scope", cmd.counter_scope,
                    "perf counter scope: thread (per sender/receiver thread), system (every "
                    "CPU), or both")
        ->capture_default_str();

    CLI::App* doctor = app.add_subcommand(
        "doctor", "Show what this kernel lets copyscope measure: BTF, hooks, counters");
    DoctorCommand doc;
    doctor->add_flag("--json", doc.json, "Print JSON instead of a table");

    // CLI11 would call an unknown command a missing one; name it instead.
    if (args.size() > 1 && !args[1].empty() && args[1][0] != '-' && args[1] != "run" &&
        args[1] != "doctor")
        throw UsageError("unknown command '" + args[1] + "' (allowed: run, doctor; see "
                         "'copyscope --help')");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
        app.parse(int(argv.size()), const_cast<char**>(argv.data()));
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            app.exit(e);
            return ExitNow{0};
        }
        std::string hint = run->parsed() ? "copyscope run --help" : "copyscope --help";
        throw UsageError(std::string(e.what()) + " (see '" + hint + "')");
    }

    if (doctor->parsed()) return doc;

    if (duration && bytes_text)
        throw UsageError("--duration and --bytes both given: a cell ends either after a time "
                         "or after a number of bytes; give one of them");
    double seconds = 0;
    uint64_t bytes = 0;
    if (bytes_text) {
        bytes = parse_size(*bytes_text, "--bytes");
        if (bytes == 0) throw UsageError("--bytes '" + *bytes_text + "': must be at least 1 byte");
    } else {
        seconds = duration.value_or(2.0);
        if (!std::isfinite(seconds) || seconds <= 0 || seconds > kMaxDurationSeconds)
            throw UsageError("--duration '" + std::to_string(seconds) +
                             "': must be more than 0 and at most 3600 seconds");
    }
    auto s = parse_strategies(strategies);
    auto z = parse_sizes(sizes);
    auto t = parse_threads(threads);
    auto tr = parse_transports(transports);
    dedupe(s);
    dedupe(z);
    dedupe(t);
    dedupe(tr);
    cmd.plan = make_plan(tr, s, z, t, seconds, bytes, verify);
    cmd.trace = !no_trace;
    return cmd;
}

} // namespace copyscope
