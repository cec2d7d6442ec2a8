// `copyscope run`: its options, one function per group, and their validation into a plan.
#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <sstream>

#include "cli/size.h"
#include "cli/subcommands.h"
#include "common/errors.h"
#include "lab/lab.h"
#include "runner/receive_paths.h"

namespace copyscope {

namespace {

// What `run` read from the command line, before validation.
struct RunInputs {
    RunCommand cmd;
    // What to measure.
    std::vector<std::string> strategies, sizes, threads, transports;
    std::string pattern = "stream";
    std::string peer;
    bool verify = false;
    std::vector<std::string> protocols, receives;
    std::optional<std::string> udp_gso;
    bool udp_cork = false;
    std::string tx_checksum = "on";
    // How each cell is measured.
    std::optional<double> duration, warmup;
    std::optional<std::string> bytes_text, precision_text;
    std::optional<unsigned> repetitions, max_repetitions;
    std::string cpu_placement = "auto";
    // Who watches.
    bool no_trace = false;
};

void add_plan_options(CLI::App& run, RunInputs& in) {
    run.add_option("--preset", in.cmd.preset, "Named plan (" + preset_descriptions() + ")")
        ->capture_default_str();
    run.add_option("--strategy,-s", in.strategies,
                   "Send strategies, repeatable or comma-separated: " + strategy_names() +
                       " (default: the preset's)")
        ->delimiter(',');
    run.add_option("--size", in.sizes,
                   "Message sizes, repeatable or comma-separated; 8 bytes to 16MiB, "
                   "with K/M suffixes (64, 4K, 64KiB, 1M) (default: the preset's)")
        ->delimiter(',');
    run.add_option("--threads,-t", in.threads,
                   "Connection counts, repeatable or comma-separated; each connection has its "
                   "own sender and receiver thread (1 to 256) (default: the preset's)")
        ->delimiter(',');
}

void add_repetition_options(CLI::App& run, RunInputs& in) {
    run.add_option("--duration,-d", in.duration,
                   "Seconds each repetition of a cell sends for (default 0.3)");
    run.add_option("--bytes,-b", in.bytes_text,
                   "Bytes each repetition sends, in whole messages (e.g. 64M), instead of "
                   "--duration; one repetition and no warm-up unless asked");
    run.add_option("--precision", in.precision_text,
                   "Repeat a cell until the 95% confidence interval of its throughput is "
                   "within this percentage of the mean (default 3)");
    run.add_option("--max-repetitions", in.max_repetitions,
                   "Give up converging after this many repetitions (default 10; the cell is "
                   "marked not converged)");
    run.add_option("--repetitions,-r", in.repetitions,
                   "Exactly this many repetitions per cell, no convergence test");
    run.add_option("--warmup", in.warmup,
                   "Seconds of uncounted traffic before a cell's repetitions (default 0.2; 0 "
                   "with --bytes)");
    run.add_option("--cpu-placement", in.cpu_placement,
                   "Where each connection's threads run: pair (a connection's sender and "
                   "receiver on one CPU, connections spread over the CPUs), split (senders on "
                   "the first half of the CPUs, receivers on the other), none (the scheduler "
                   "decides), auto (pair where there are two CPUs or more, else none)")
        ->capture_default_str();
}

void add_traffic_options(CLI::App& run, RunInputs& in) {
    run.add_option("--pattern", in.pattern,
                   "stream (send as fast as possible) or rr (request/response: wait for a "
                   "64-byte answer to every message and report round-trip percentiles)")
        ->capture_default_str();
    run.add_option("--transport", in.transports,
                   "Where the traffic runs: veth (two namespaces joined by a veth pair), "
                   "loopback (one namespace, lo), forward (sender -> router -> receiver "
                   "namespaces), nic (from this namespace to a `copyscope sink` at --peer, "
                   "through a real network device)")
        ->delimiter(',');
    run.add_option("--peer", in.peer,
                   "nic transport: the sink's IPv4 address and port, e.g. 10.0.2.2:5201");
    run.add_option("--protocol", in.protocols,
                   "tcp (a stream per connection) or udp (a datagram per message, or with "
                   "--udp-gso its segments; two-copy, one-copy and zero-copy only), repeatable "
                   "or comma-separated (default: the preset's)")
        ->delimiter(',');
    run.add_option("--udp-gso", in.udp_gso,
                   "udp: send each message as UDP_SEGMENT sends of at most 64 segments of this "
                   "size (at most the lab's MTU less 28: 1472 over veth); needed above 65507 "
                   "bytes");
    run.add_flag("--udp-cork", in.udp_cork,
                 "udp (one-copy, zero-copy; not with --udp-gso): build each datagram from its "
                 "fields, one sendmsg each, all but the last with MSG_MORE (the kernel corks "
                 "them into one datagram)");
    run.add_option("--tx-checksum", in.tx_checksum,
                   "udp over veth or forward: on, or off (the sender's veth without TX checksum "
                   "offload for the cell, ETHTOOL_STXCSUM)")
        ->capture_default_str();
    run.add_option("--receive", in.receives,
                   "copy (recv) or zerocopy (TCP_ZEROCOPY_RECEIVE: the receive queue's pages "
                   "mapped, the rest copied; the lab's links get MTU 61492 so segments are "
                   "whole pages), repeatable or comma-separated (default: copy)")
        ->delimiter(',');
    run.add_flag("--verify-payload", in.verify,
                 "Fill every message with a position-dependent pattern and check every "
                 "received byte");
}

void add_output_options(CLI::App& run, RunCommand& cmd) {
    run.add_option("--csv", cmd.csv, "Also write one CSV row per cell to this file");
    run.add_option("--output,-o", cmd.output, "Where to write the JSON report")
        ->capture_default_str();
    run.add_flag("--quiet,-q", cmd.quiet, "Print nothing but errors (the report is still written)");
}

void add_observer_options(CLI::App& run, RunInputs& in) {
    run.add_flag("--no-trace", in.no_trace,
                 "Do not load the BPF tracer (no copy ledger; for measuring its overhead)");
    run.add_option("--hooks", in.cmd.hooks,
                   "Hook forms: auto (preferred fentry/fexit where the kernel allows, else "
                   "tracepoints), prefer-tracepoints, or both (both forms in one run, each "
                   "counting apart: a second ledger, ledger_tracepoints, from the tracepoint "
                   "forms on the same traffic)")
        ->capture_default_str();
    run.add_option("--counters", in.cmd.counters,
                   "perf counters: default, none, or a comma-separated list of event names")
        ->capture_default_str();
    run.add_option("--counter-scope", in.cmd.counter_scope,
                   "perf counter scope: thread (per sender/receiver thread), system (every "
                   "CPU), or both")
        ->capture_default_str();
}

std::string format_number(double v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

// How long a repetition lasts (a time or a number of bytes) and the warm-up before them.
void apply_repetition_length(const RunInputs& in, CellSpec& proto) {
    if (in.duration && in.bytes_text)
        throw UsageError("--duration and --bytes both given: a repetition ends either after a "
                         "time or after a number of bytes; give one of them");
    if (in.bytes_text) {
        proto.bytes = parse_size(*in.bytes_text, "--bytes");
        if (proto.bytes == 0)
            throw UsageError("--bytes '" + *in.bytes_text + "': must be at least 1 byte");
    } else {
        proto.duration_seconds = in.duration.value_or(kDefaultRepetitionSeconds);
        if (!std::isfinite(proto.duration_seconds) || proto.duration_seconds <= 0 ||
            proto.duration_seconds > kMaxDurationSeconds)
            throw UsageError("--duration '" + format_number(proto.duration_seconds) +
                             "': must be more than 0 and at most 3600 seconds");
    }
    proto.warmup_seconds = in.warmup.value_or(in.bytes_text ? 0.0 : kDefaultWarmupSeconds);
    if (!std::isfinite(proto.warmup_seconds) || proto.warmup_seconds < 0 ||
        proto.warmup_seconds > kMaxDurationSeconds)
        throw UsageError("--warmup '" + format_number(proto.warmup_seconds) +
                         "': must be from 0 to 3600 seconds");
}

// "3", "0.5%": a percentage above 0 and at most 100, as a fraction.
double parse_precision(const std::optional<std::string>& typed) {
    if (!typed) return kDefaultPrecisionPercent / 100;
    std::string text = *typed;
    if (!text.empty() && text.back() == '%') text.pop_back();
    size_t used = 0;
    double percent = 0;
    try {
        percent = std::stod(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || !(percent > 0) || percent > 100)
        throw UsageError("--precision '" + *typed +
                         "': must be a percentage above 0 and at most 100 (e.g. 3 or 0.5%)");
    return percent / 100;
}

// How many repetitions: a fixed count, once for a fixed amount of bytes, or until converged.
void apply_repetition_count(const RunInputs& in, CellSpec& proto) {
    auto check = [](const char* name, unsigned v) {
        if (v < 1 || v > kMaxRepetitions)
            throw UsageError(std::string(name) + " '" + std::to_string(v) +
                             "': must be from 1 to " + std::to_string(kMaxRepetitions));
    };
    if (in.repetitions && in.max_repetitions)
        throw UsageError("--repetitions and --max-repetitions both given: either a fixed count "
                         "or repeat until converged; give one of them");
    if (in.repetitions) {
        check("--repetitions", *in.repetitions);
        proto.min_repetitions = proto.max_repetitions = *in.repetitions;
    } else if (in.bytes_text && !in.max_repetitions && !in.precision_text) {
        proto.min_repetitions = proto.max_repetitions = 1; // a fixed amount of work, once
    } else {
        unsigned most = in.max_repetitions.value_or(kDefaultMaxRepetitions);
        check("--max-repetitions", most);
        proto.max_repetitions = most;
        proto.min_repetitions = std::min(kDefaultMinRepetitions, most);
    }
}

// The nic transport, and only it, needs a peer; its sink does not answer requests.
void check_peer(const std::vector<Transport>& transports, const RunInputs& in, Pattern pattern) {
    const bool nic =
        std::find(transports.begin(), transports.end(), Transport::nic) != transports.end();
    if (nic && in.peer.empty())
        throw UsageError("--transport nic needs --peer HOST:PORT, the address of a "
                         "`copyscope sink` on the other side of the network device");
    if (!nic && !in.peer.empty())
        throw UsageError("--peer '" + in.peer + "': only the nic transport has a peer");
    if (nic) parse_peer(in.peer);
    if (nic && pattern == Pattern::rr)
        throw UsageError("--pattern rr: the nic transport's sink does not answer requests; use "
                         "--pattern stream");
}

template <typename T> std::vector<T> dedupe(std::vector<T> v) {
    std::vector<T> out;
    for (const T& x : v)
        if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    return out;
}

RunCommand finish_run(RunInputs& in) {
    const Preset& preset = find_preset(in.cmd.preset);
    CellSpec proto;
    proto.verify_payload = in.verify;
    auto pattern = pattern_from_string(in.pattern);
    if (!pattern)
        throw UsageError("--pattern '" + in.pattern + "': unknown pattern (allowed: stream, rr)");
    proto.pattern = *pattern;
    apply_repetition_length(in, proto);
    proto.precision = parse_precision(in.precision_text);
    apply_repetition_count(in, proto);
    auto placement = cpu_placement_from_string(in.cpu_placement);
    if (!placement)
        throw UsageError("--cpu-placement '" + in.cpu_placement +
                         "': unknown placement (allowed: " + std::string(kCpuPlacementNames) + ")");

    auto s = dedupe(in.strategies.empty() ? preset.strategies : parse_strategies(in.strategies));
    auto z = dedupe(in.sizes.empty() ? preset.sizes : parse_sizes(in.sizes));
    auto t = dedupe(in.threads.empty() ? preset.threads : parse_threads(in.threads));
    auto tr = dedupe(in.transports.empty() ? preset.transports : parse_transports(in.transports));
    check_peer(tr, in, proto.pattern);
    proto.peer = in.peer;

    PathChoice paths;
    paths.protocols = dedupe(parse_protocols(in.protocols));
    paths.receives = dedupe(parse_receives(in.receives));
    if (in.udp_gso) {
        const uint64_t gso = parse_size(*in.udp_gso, "--udp-gso");
        if (gso == 0 || gso > kMaxUdpPayload)
            throw UsageError("--udp-gso '" + *in.udp_gso + "': must be from 1 to " +
                             std::to_string(kMaxUdpPayload) + " bytes");
        if (std::find(paths.protocols.begin(), paths.protocols.end(), Protocol::udp) ==
            paths.protocols.end())
            throw UsageError("--udp-gso is for udp cells: give --protocol udp");
        paths.udp_gso = uint32_t(gso);
    }
    const bool udp_cells = std::find(paths.protocols.begin(), paths.protocols.end(),
                                     Protocol::udp) != paths.protocols.end();
    if (in.udp_cork && !udp_cells)
        throw UsageError("--udp-cork is for udp cells: give --protocol udp");
    paths.udp_cork = in.udp_cork;
    if (in.tx_checksum != "on" && in.tx_checksum != "off")
        throw UsageError("--tx-checksum '" + in.tx_checksum + "': allowed: on, off");
    if (in.tx_checksum == "off" && !udp_cells)
        throw UsageError("--tx-checksum off is for udp cells: give --protocol udp");
    paths.tx_checksum_off = in.tx_checksum == "off";
    paths.explicit_strategies = !in.strategies.empty();
    paths.explicit_sizes = !in.sizes.empty();

    RunCommand cmd = in.cmd;
    cmd.plan = plan_paths(preset, tr, s, z, t, proto, paths);
    if (cmd.plan.empty())
        throw UsageError("--preset " + in.cmd.preset + ": no cell left to run with these lists");
    if (std::any_of(cmd.plan.begin(), cmd.plan.end(),
                    [](const CellSpec& c) { return c.receive == Receive::zerocopy; }))
        if (auto why = zerocopy_receive_refused())
            throw UsageError("--receive zerocopy: this kernel refuses TCP_ZEROCOPY_RECEIVE (" +
                             *why + ")");
    cmd.trace = !in.no_trace;
    cmd.cpu_placement = *placement;
    return cmd;
}

} // namespace

Subcommand add_run_command(CLI::App& app) {
    auto in = std::make_shared<RunInputs>();
    CLI::App* run = app.add_subcommand(
        "run", "Run send strategies in a lab, trace the kernel's copies, write a JSON report");
    add_plan_options(*run, *in);
    add_repetition_options(*run, *in);
    add_traffic_options(*run, *in);
    add_output_options(*run, in->cmd);
    add_observer_options(*run, *in);
    return {run, [in] { return Command(finish_run(*in)); }, true};
}

} // namespace copyscope
