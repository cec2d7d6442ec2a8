#include "cli/cli.h"

#include <cmath>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli/size.h"
#include "common/errors.h"
#include "lab/lab.h"
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
            throw UsageError("--transport '" + item +
                             "': unknown transport (allowed: veth, loopback, forward, nic)");
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

std::string format_number(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

template <typename T> void dedupe(std::vector<T>& v) {
    std::vector<T> out;
    for (const T& x : v)
        if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    v = std::move(out);
}

} // namespace

const std::vector<Preset>& presets() {
    using S = Strategy;
    static const std::vector<Preset> list = {
        {"quick", "all four strategies x 256, 4K, 64K x 1, 2 connections over veth",
         {S::two_copy, S::per_field, S::one_copy, S::zero_copy},
         {256, 4096, 65536},
         {1, 2},
         {Transport::veth}},
        {"seeds",
         "the original assignment's matrix: two-copy, one-copy, zero-copy x 64, 512, 4096, "
         "65536 x 1, 2, 4, 8 connections over veth",
         {S::two_copy, S::one_copy, S::zero_copy},
         {64, 512, 4096, 65536},
         {1, 2, 4, 8},
         {Transport::veth}},
        {"full", "all four strategies x 64 bytes to 1MiB x 1, 2, 4, 8 connections over veth "
                 "and loopback",
         {S::two_copy, S::per_field, S::one_copy, S::zero_copy},
         {64, 512, 4096, 65536, 262144, 1048576},
         {1, 2, 4, 8},
         {Transport::veth, Transport::loopback}},
    };
    return list;
}

std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, const CellSpec& prototype) {
    std::vector<CellSpec> plan;
    for (Transport t : transports)
        for (Strategy s : strategies)
            for (uint64_t size : sizes)
                for (unsigned n : threads) {
                    CellSpec cell = prototype;
                    cell.transport = t;
                    cell.strategy = s;
                    cell.message_size = size;
                    cell.threads = n;
                    plan.push_back(cell);
                }
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
    std::vector<std::string> strategies, sizes, threads, transports;
    std::optional<double> duration, warmup;
    std::optional<std::string> bytes_text, precision_text;
    std::optional<unsigned> repetitions, max_repetitions;
    std::string pattern = "stream";
    RunCommand cmd;
    bool verify = false, no_trace = false;
    std::string preset_names;
    for (const Preset& p : presets())
        preset_names += std::string(preset_names.empty() ? "" : "; ") + p.name + ": " + p.description;
    run->add_option("--preset", cmd.preset, "Named plan (" + preset_names + ")")
        ->capture_default_str();
    run->add_option("--strategy,-s", strategies,
                    "Send strategies, repeatable or comma-separated: " + strategy_names() +
                        " (default: the preset's)")
        ->delimiter(',');
    run->add_option("--size", sizes,
                    "Message sizes, repeatable or comma-separated; 8 bytes to 16MiB, "
                    "with K/M suffixes (64, 4K, 64KiB, 1M) (default: the preset's)")
        ->delimiter(',');
    run->add_option("--threads,-t", threads,
                    "Connection counts, repeatable or comma-separated; each connection has its "
                    "own sender and receiver thread (1 to 256) (default: the preset's)")
        ->delimiter(',');
    run->add_option("--duration,-d", duration,
                    "Seconds each repetition of a cell sends for (default 0.3)");
    run->add_option("--bytes,-b", bytes_text,
                    "Bytes each repetition sends, in whole messages (e.g. 64M), instead of "
                    "--duration; one repetition and no warm-up unless asked");
    run->add_option("--precision", precision_text,
                    "Repeat a cell until the 95% confidence interval of its throughput is "
                    "within this percentage of the mean (default 3)");
    run->add_option("--max-repetitions", max_repetitions,
                    "Give up converging after this many repetitions (default 10; the cell is "
                    "marked not converged)");
    run->add_option("--repetitions,-r", repetitions,
                    "Exactly this many repetitions per cell, no convergence test");
    run->add_option("--warmup", warmup,
                    "Seconds of uncounted traffic before a cell's repetitions (default 0.2; 0 "
                    "with --bytes)");
    run->add_option("--pattern", pattern,
                    "stream (send as fast as possible) or rr (request/response: wait for a "
                    "64-byte answer to every message and report round-trip percentiles)")
        ->capture_default_str();
    run->add_option("--csv", cmd.csv, "Also write one CSV row per cell to this file");
    std::string peer;
    run->add_option("--transport", transports,
                    "Where the traffic runs: veth (two namespaces joined by a veth pair), "
                    "loopback (one namespace, lo), forward (sender -> router -> receiver "
                    "namespaces), nic (from this namespace to a `copyscope sink` at --peer, "
                    "through a real network device)")
        ->delimiter(',');
    run->add_option("--peer", peer,
                    "nic transport: the sink's IPv4 address and port, e.g. 10.0.2.2:5201");
    run->add_flag("--verify-payload", verify,
                  "Fill every message with a position-dependent pattern and check every "
                  "received byte");
    run->add_option("--output,-o", cmd.output, "Where to write the JSON report")
        ->capture_default_str();
    run->add_flag("--quiet,-q", cmd.quiet, "Print nothing but errors (the report is still written)");
    run->add_flag("--no-trace", no_trace,
                  "Do not load the BPF tracer (no copy ledger; for measuring its overhead)");
    run->add_option("--hooks", cmd.hooks,
                    "Hook forms: auto (preferred fentry/fexit where the kernel allows, else "
                    "tracepoints), prefer-tracepoints, or both (both forms in one run, each "
                    "counting apart: a second ledger, ledger_tracepoints, from the tracepoint "
                    "forms on the same traffic)")
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

    CLI::App* sink = app.add_subcommand(
        "sink", "Receive for the nic transport: read each connection to its end, answer with "
                "a tally of the bytes, close");
    SinkCommand sink_cmd;
    sink->add_option("--listen", sink_cmd.listen, "IPv4 address and port to listen on")
        ->capture_default_str();
    sink->add_option("--connections", sink_cmd.connections,
                     "Stop after serving this many connections (0: until stopped or idle)")
        ->capture_default_str();
    sink->add_option("--idle-timeout", sink_cmd.idle_timeout_seconds,
                     "Stop when nobody connects for this many seconds")
        ->capture_default_str();
    sink->add_flag("--quiet,-q", sink_cmd.quiet, "Print nothing but errors");

    CLI::App* compare = app.add_subcommand(
        "compare", "Put two reports side by side: throughput, ledger, counters, hooks, verdicts; "
                   "exit 1 when a metric regressed beyond the threshold");
    CompareCommand cmp;
    compare->add_option("baseline", cmp.baseline, "The report to compare against (A)")->required();
    compare->add_option("candidate", cmp.candidate, "The report to judge (B)")->required();
    compare->add_option("--threshold", cmp.threshold_percent,
                        "Percent change beyond which a metric counts as regressed")
        ->capture_default_str();
    compare->add_flag("--json", cmp.json, "Print JSON instead of a table");

    // CLI11 would call an unknown command a missing one; name it instead.
    auto known = [&](const std::string& name) {
        try {
            app.get_subcommand(name);
            return true;
        } catch (const CLI::OptionNotFound&) {
            return false;
        }
    };
    if (args.size() > 1 && !args[1].empty() && args[1][0] != '-' && !known(args[1]))
        throw UsageError("unknown command '" + args[1] + "' (allowed: run, doctor, sink, compare; "
                         "see 'copyscope --help')");
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
    if (compare->parsed()) return cmp;
    if (sink->parsed()) {
        parse_peer(sink_cmd.listen); // throws UsageError naming the bad text
        if (!(sink_cmd.idle_timeout_seconds > 0) || sink_cmd.idle_timeout_seconds > 86400)
            throw UsageError("--idle-timeout: must be more than 0 and at most 86400 seconds");
        return sink_cmd;
    }

    const Preset* preset = nullptr;
    for (const Preset& p : presets())
        if (cmd.preset == p.name) preset = &p;
    if (!preset) {
        std::string names;
        for (const Preset& p : presets()) names += std::string(names.empty() ? "" : ", ") + p.name;
        throw UsageError("--preset '" + cmd.preset + "': unknown preset (allowed: " + names + ")");
    }

    CellSpec proto;
    proto.verify_payload = verify;
    auto pat = pattern_from_string(pattern);
    if (!pat) throw UsageError("--pattern '" + pattern + "': unknown pattern (allowed: stream, rr)");
    proto.pattern = *pat;
    if (duration && bytes_text)
        throw UsageError("--duration and --bytes both given: a repetition ends either after a "
                         "time or after a number of bytes; give one of them");
    if (bytes_text) {
        proto.bytes = parse_size(*bytes_text, "--bytes");
        if (proto.bytes == 0)
            throw UsageError("--bytes '" + *bytes_text + "': must be at least 1 byte");
    } else {
        proto.duration_seconds = duration.value_or(kDefaultRepetitionSeconds);
        if (!std::isfinite(proto.duration_seconds) || proto.duration_seconds <= 0 ||
            proto.duration_seconds > kMaxDurationSeconds)
            throw UsageError("--duration '" + format_number(proto.duration_seconds) +
                             "': must be more than 0 and at most 3600 seconds");
    }
    proto.warmup_seconds = warmup.value_or(bytes_text ? 0.0 : kDefaultWarmupSeconds);
    if (!std::isfinite(proto.warmup_seconds) || proto.warmup_seconds < 0 ||
        proto.warmup_seconds > kMaxDurationSeconds)
        throw UsageError("--warmup '" + format_number(proto.warmup_seconds) +
                         "': must be from 0 to 3600 seconds");
    double precision = kDefaultPrecisionPercent;
    if (precision_text) {
        std::string text = *precision_text;
        if (!text.empty() && text.back() == '%') text.pop_back();
        size_t used = 0;
        try {
            precision = std::stod(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (text.empty() || used != text.size() || !(precision > 0) || precision > 100)
            throw UsageError("--precision '" + *precision_text +
                             "': must be a percentage above 0 and at most 100 (e.g. 3 or 0.5%)");
    }
    proto.precision = precision / 100;
    auto check_reps = [](const char* name, unsigned v) {
        if (v < 1 || v > kMaxRepetitions)
            throw UsageError(std::string(name) + " '" + std::to_string(v) +
                             "': must be from 1 to " + std::to_string(kMaxRepetitions));
    };
    if (repetitions && max_repetitions)
        throw UsageError("--repetitions and --max-repetitions both given: either a fixed count "
                         "or repeat until converged; give one of them");
    if (repetitions) {
        check_reps("--repetitions", *repetitions);
        proto.min_repetitions = proto.max_repetitions = *repetitions;
    } else if (bytes_text && !max_repetitions && !precision_text) {
        proto.min_repetitions = proto.max_repetitions = 1; // a fixed amount of work, once
    } else {
        unsigned most = max_repetitions.value_or(kDefaultMaxRepetitions);
        check_reps("--max-repetitions", most);
        proto.max_repetitions = most;
        proto.min_repetitions = std::min(kDefaultMinRepetitions, most);
    }

    auto s = strategies.empty() ? preset->strategies : parse_strategies(strategies);
    auto z = sizes.empty() ? preset->sizes : parse_sizes(sizes);
    auto t = threads.empty() ? preset->threads : parse_threads(threads);
    auto tr = transports.empty() ? preset->transports : parse_transports(transports);
    dedupe(s);
    dedupe(z);
    dedupe(t);
    dedupe(tr);
    const bool nic = std::find(tr.begin(), tr.end(), Transport::nic) != tr.end();
    if (nic && peer.empty())
        throw UsageError("--transport nic needs --peer HOST:PORT, the address of a "
                         "`copyscope sink` on the other side of the network device");
    if (!nic && !peer.empty())
        throw UsageError("--peer '" + peer + "': only the nic transport has a peer");
    if (nic) parse_peer(peer);
    if (nic && proto.pattern == Pattern::rr)
        throw UsageError("--pattern rr: the nic transport's sink does not answer requests; use "
                         "--pattern stream");
    proto.peer = peer;
    cmd.plan = make_plan(tr, s, z, t, proto);
    cmd.trace = !no_trace;
    return cmd;
}

} // namespace copyscope
