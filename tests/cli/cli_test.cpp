// Command-line validation: every bad input is a UsageError that names the bad value and
// what is allowed; the binary turns it into exit status 2 with nothing started.
#include <gtest/gtest.h>

#include "cli/cli.h"
#include "common/errors.h"
#include "support/run_binary.h"
#include "support/system_probe.h"

using namespace copyscope;

namespace {

Command parse(std::vector<std::string> args) {
    args.insert(args.begin(), "copyscope");
    return parse_command_line(args);
}

RunCommand parse_run(std::vector<std::string> args) {
    args.insert(args.begin(), "run");
    return std::get<RunCommand>(parse(args));
}

// Expects a UsageError whose message contains every one of `needles`.
void expect_usage_error(std::vector<std::string> args, std::vector<std::string> needles) {
    try {
        parse(args);
        ADD_FAILURE() << "accepted: " << testing::PrintToString(args);
    } catch (const UsageError& e) {
        for (const auto& n : needles)
            EXPECT_NE(std::string(e.what()).find(n), std::string::npos)
                << "'" << e.what() << "' lacks '" << n << "'";
    }
}

} // namespace

TEST(Cli, DefaultPlanIsTheQuickPreset) {
    RunCommand cmd = parse_run({});
    ASSERT_EQ(cmd.plan.size(), 4u * 3u * 2u);
    EXPECT_EQ(cmd.preset, "quick");
    EXPECT_EQ(cmd.output, "copyscope-report.json");
    const CellSpec& c = cmd.plan.front();
    EXPECT_EQ(c.transport, Transport::veth);
    EXPECT_EQ(c.pattern, Pattern::stream);
    EXPECT_EQ(c.duration_seconds, kDefaultRepetitionSeconds);
    EXPECT_EQ(c.bytes, 0u);
    EXPECT_EQ(c.warmup_seconds, kDefaultWarmupSeconds);
    EXPECT_EQ(c.min_repetitions, kDefaultMinRepetitions);
    EXPECT_EQ(c.max_repetitions, kDefaultMaxRepetitions);
    EXPECT_DOUBLE_EQ(c.precision, 0.03);
    EXPECT_TRUE(cmd.trace);
    EXPECT_TRUE(cmd.csv.empty());
}

TEST(Cli, SeedsPresetIsTheOriginalMatrix) {
    RunCommand cmd = parse_run({"--preset", "seeds"});
    ASSERT_EQ(cmd.plan.size(), 3u * 4u * 4u);
    for (const CellSpec& c : cmd.plan) {
        EXPECT_NE(c.strategy, Strategy::per_field);
        EXPECT_EQ(c.transport, Transport::veth);
    }
    EXPECT_EQ(cmd.plan.front().message_size, 64u);
    EXPECT_EQ(cmd.plan.back().message_size, 65536u);
    EXPECT_EQ(cmd.plan.back().threads, 8u);
}

TEST(Cli, FullPresetAddsPerFieldLoopbackAndLargeSizes) {
    RunCommand cmd = parse_run({"--preset", "full"});
    // The tcp matrix (the four, sendfile, three io_uring), then the paths cells: udp at 4K
    // and 64K (3 strategies each), tcp zerocopy receive (2 strategies x 2 sizes), at 4 thread
    // counts over 2 transports.
    const size_t tcp = 8u * 6u * 4u * 2u;
    ASSERT_EQ(cmd.plan.size(), tcp + (3u + 3u + 4u) * 4u * 2u);
    EXPECT_EQ(cmd.plan[tcp - 1].transport, Transport::loopback);
    EXPECT_EQ(cmd.plan[tcp - 1].message_size, 1u << 20);
    for (size_t i = 0; i < tcp; ++i) {
        EXPECT_EQ(cmd.plan[i].protocol, Protocol::tcp);
        EXPECT_EQ(cmd.plan[i].receive, Receive::copy);
    }
}

TEST(Cli, PathsPresetRunsTheSendPathsAtTwoSizesOverVethAndLoopback) {
    RunCommand cmd = parse_run({"--preset", "paths"});
    // sendfile and the three io_uring strategies at two sizes over two transports, then the
    // udp (3 + 3) and tcp zerocopy-receive (2 x 2) cells over the same two transports.
    ASSERT_EQ(cmd.plan.size(), 4u * 2u * 2u + (3u + 3u + 4u) * 2u);
    size_t send_paths = 0;
    for (const CellSpec& c : cmd.plan) {
        const bool classic_tcp = c.protocol == Protocol::tcp && c.receive == Receive::copy;
        if (classic_tcp) {
            EXPECT_TRUE(c.strategy == Strategy::sendfile || uses_io_uring(c.strategy));
            ++send_paths;
        }
        EXPECT_EQ(c.threads, 1u);
        EXPECT_TRUE(c.message_size == 4096 || c.message_size == 65536);
    }
    EXPECT_EQ(send_paths, 4u * 2u * 2u);
    EXPECT_EQ(parse_run({"--strategy", "io-uring-zc-fixed"}).plan.front().strategy,
              Strategy::io_uring_zc_fixed);
}

TEST(Cli, ExplicitListsOverrideThePreset) {
    RunCommand cmd = parse_run({"--preset", "seeds", "--threads", "1", "--size", "4K"});
    ASSERT_EQ(cmd.plan.size(), 3u);
    for (const CellSpec& c : cmd.plan) {
        EXPECT_EQ(c.threads, 1u);
        EXPECT_EQ(c.message_size, 4096u);
    }
}

TEST(Cli, RepetitionOptions) {
    CellSpec c = parse_run({"--repetitions", "4"}).plan.front();
    EXPECT_EQ(c.min_repetitions, 4u);
    EXPECT_EQ(c.max_repetitions, 4u);
    c = parse_run({"--max-repetitions", "20", "--precision", "0.5%", "--warmup", "0"}).plan.front();
    EXPECT_EQ(c.max_repetitions, 20u);
    EXPECT_DOUBLE_EQ(c.precision, 0.005);
    EXPECT_EQ(c.warmup_seconds, 0.0);
    // A fixed amount of bytes: once, no warm-up, unless asked.
    c = parse_run({"--bytes", "1M"}).plan.front();
    EXPECT_EQ(c.min_repetitions, 1u);
    EXPECT_EQ(c.max_repetitions, 1u);
    EXPECT_EQ(c.warmup_seconds, 0.0);
    c = parse_run({"--bytes", "1M", "--repetitions", "3"}).plan.front();
    EXPECT_EQ(c.max_repetitions, 3u);
    c = parse_run({"--pattern", "rr"}).plan.front();
    EXPECT_EQ(c.pattern, Pattern::rr);
}

TEST(Cli, BadRepetitionOptions) {
    expect_usage_error({"run", "--repetitions", "0"}, {"--repetitions", "'0'", "1 to 1000"});
    expect_usage_error({"run", "--max-repetitions", "5000"}, {"--max-repetitions", "'5000'"});
    expect_usage_error({"run", "--repetitions", "2", "--max-repetitions", "3"},
                       {"--repetitions", "--max-repetitions"});
    expect_usage_error({"run", "--precision", "0"}, {"--precision", "'0'", "percentage"});
    expect_usage_error({"run", "--precision", "abc"}, {"--precision", "'abc'"});
    expect_usage_error({"run", "--precision", "150"}, {"--precision", "'150'"});
    expect_usage_error({"run", "--warmup", "-1"}, {"--warmup"});
    expect_usage_error({"run", "--pattern", "burst"}, {"'burst'", "stream", "rr"});
    expect_usage_error({"run", "--preset", "huge"}, {"'huge'", "quick", "seeds", "full"});
}

TEST(Cli, ListsRepeatedOrCommaSeparated) {
    RunCommand cmd = parse_run({"--strategy", "one-copy,zero-copy", "--strategy", "two-copy",
                                "--size", "64", "--size", "4K,1MiB", "--threads", "1,8", "--bytes",
                                "1M", "--transport", "loopback", "--verify-payload"});
    ASSERT_EQ(cmd.plan.size(), 3u * 3u * 2u);
    EXPECT_EQ(cmd.plan[0].strategy, Strategy::one_copy);
    EXPECT_EQ(cmd.plan[0].message_size, 64u);
    EXPECT_EQ(cmd.plan[2].message_size, 4096u);
    EXPECT_EQ(cmd.plan[5].message_size, 1u << 20);
    EXPECT_EQ(cmd.plan[1].threads, 8u);
    EXPECT_EQ(cmd.plan[0].bytes, 1u << 20);
    EXPECT_EQ(cmd.plan[0].duration_seconds, 0.0);
    EXPECT_EQ(cmd.plan[0].transport, Transport::loopback);
    EXPECT_TRUE(cmd.plan[0].verify_payload);
}

TEST(Cli, AllMeansEveryStrategyOnce) {
    RunCommand cmd = parse_run({"--strategy", "all,one-copy", "--size", "64", "--threads", "1"});
    ASSERT_EQ(cmd.plan.size(), 8u);
}

TEST(Cli, BadSizes) {
    expect_usage_error({"run", "--size", "0"}, {"'0'", "8 bytes to 16MiB"});
    expect_usage_error({"run", "--size", "4"}, {"'4'", "8 bytes"});
    expect_usage_error({"run", "--size", "17M"}, {"'17M'", "16MiB"});
    expect_usage_error({"run", "--size", "lots"}, {"'lots'", "allowed"});
}

TEST(Cli, BadThreads) {
    expect_usage_error({"run", "--threads", "0"}, {"'0'", "1 to 256"});
    expect_usage_error({"run", "--threads", "257"}, {"'257'", "1 to 256"});
    expect_usage_error({"run", "--threads", "two"}, {"'two'", "1 to 256"});
}

TEST(Cli, UnknownStrategyAndTransport) {
    expect_usage_error({"run", "--strategy", "three-copy"},
                       {"'three-copy'", "two-copy", "per-field", "one-copy", "zero-copy", "all"});
    expect_usage_error({"run", "--transport", "wifi"}, {"'wifi'", "veth", "loopback"});
}

TEST(Cli, DurationAndBytes) {
    expect_usage_error({"run", "--duration", "1", "--bytes", "1M"}, {"--duration", "--bytes"});
    EXPECT_EQ(parse_run({"--duration", "1.5"}).plan.front().duration_seconds, 1.5);
    expect_usage_error({"run", "--duration", "0"}, {"--duration", "3600"});
    expect_usage_error({"run", "--duration", "-3"}, {"--duration"});
    expect_usage_error({"run", "--duration", "99999"}, {"--duration", "3600"});
    expect_usage_error({"run", "--bytes", "0"}, {"--bytes", "'0'"});
}

TEST(Cli, UnknownOptionOrCommand) {
    expect_usage_error({"run", "--frobnicate"}, {"frobnicate", "copyscope run --help"});
    expect_usage_error({"explode"}, {"'explode'", "run, doctor, sink, compare"});
    expect_usage_error({}, {"subcommand"});
}

TEST(Cli, CompareAndSink) {
    auto cmd = parse({"compare", "a.json", "b.json", "--threshold", "10", "--json"});
    ASSERT_TRUE(std::holds_alternative<CompareCommand>(cmd));
    EXPECT_EQ(std::get<CompareCommand>(cmd).baseline, "a.json");
    EXPECT_EQ(std::get<CompareCommand>(cmd).candidate, "b.json");
    EXPECT_EQ(std::get<CompareCommand>(cmd).threshold_percent, 10.0);
    expect_usage_error({"compare", "a.json"}, {"candidate"});
    auto sink = parse({"sink", "--listen", "127.0.0.1:6000", "--connections", "3"});
    ASSERT_TRUE(std::holds_alternative<SinkCommand>(sink));
    EXPECT_EQ(std::get<SinkCommand>(sink).connections, 3u);
    expect_usage_error({"sink", "--listen", "localhost"}, {"'localhost'", "port"});
}

TEST(Cli, NicNeedsAPeerAndOnlyNicTakesOne) {
    expect_usage_error({"run", "--transport", "nic"}, {"--peer"});
    expect_usage_error({"run", "--peer", "10.0.2.2:5201"}, {"'10.0.2.2:5201'", "nic"});
    expect_usage_error({"run", "--transport", "nic", "--peer", "10.0.2.2"}, {"'10.0.2.2'", "port"});
    expect_usage_error({"run", "--transport", "nic", "--peer", "10.0.2.2:0"}, {"1 to 65535"});
    expect_usage_error({"run", "--transport", "nic", "--peer", "10.0.2.2:5201", "--pattern", "rr"},
                       {"rr", "nic"});
    RunCommand cmd = parse_run({"--transport", "nic,forward", "--peer", "10.0.2.2:5201"});
    EXPECT_EQ(cmd.plan.front().transport, Transport::nic);
    EXPECT_EQ(cmd.plan.front().peer, "10.0.2.2:5201");
}

TEST(Cli, CpuPlacement) {
    EXPECT_EQ(parse_run({}).cpu_placement, CpuPlacement::auto_);
    EXPECT_EQ(parse_run({"--cpu-placement", "none"}).cpu_placement, CpuPlacement::none);
    EXPECT_EQ(parse_run({"--cpu-placement", "pair"}).cpu_placement, CpuPlacement::pair);
    EXPECT_EQ(parse_run({"--cpu-placement", "split"}).cpu_placement, CpuPlacement::split);
    expect_usage_error({"run", "--cpu-placement", "spread"},
                       {"--cpu-placement", "'spread'", "auto", "none", "split", "pair"});
}

TEST(Cli, DoctorJson) {
    auto cmd = parse({"doctor", "--json"});
    ASSERT_TRUE(std::holds_alternative<DoctorCommand>(cmd));
    EXPECT_TRUE(std::get<DoctorCommand>(cmd).json);
}

// The binary: bad input exits 2 with one clear line on stderr, before anything starts.
TEST(CliBinary, BadInputExitsTwoWithTheValueNamed) {
    auto r = testsupport::run_copyscope({"run", "--size", "0"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("'0'"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(CliBinary, UnwritableOutputExitsTwo) {
    auto r = testsupport::run_copyscope({"run", "-o", "/nonexistent-dir/report.json"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("/nonexistent-dir"), std::string::npos) << r.err;
    r = testsupport::run_copyscope({"run", "-o", "/tmp"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("directory"), std::string::npos) << r.err;
}

TEST(CliBinary, HelpExplainsEveryOption) {
    auto r = testsupport::run_copyscope({"run", "--help"});
    EXPECT_EQ(r.status, 0);
    for (const char* opt :
         {"--strategy",    "--size",           "--threads", "--duration",  "--bytes",
          "--transport",   "--verify-payload", "--output",  "--quiet",     "--hooks",
          "--no-trace",    "--counters",       "--preset",  "--precision", "--max-repetitions",
          "--repetitions", "--warmup",         "--pattern", "--csv",       "--cpu-placement",
          "--protocol",    "--udp-gso",        "--receive", "--udp-cork",  "--tx-checksum"})
        EXPECT_NE(r.out.find(opt), std::string::npos) << opt;
    r = testsupport::run_copyscope({"--help"});
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("run"), std::string::npos);
    EXPECT_NE(r.out.find("doctor"), std::string::npos);
}

// Without root: exit 2, naming the missing capabilities. Needs root to drop to nobody.
TEST(CliBinary, WithoutRootSaysWhichCapabilityIsMissing) {
    if (!testsupport::running_as_root()) {
        auto r = testsupport::run_copyscope({"run", "-o", "/tmp/copyscope-nonroot.json"});
        EXPECT_EQ(r.status, 2);
        EXPECT_NE(r.err.find("CAP_"), std::string::npos) << r.err;
        return;
    }
    auto r = testsupport::run_copyscope({"run", "-o", "/tmp/copyscope-nonroot.json"}, 60, 65534);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("CAP_SYS_ADMIN"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("CAP_NET_ADMIN"), std::string::npos) << r.err;
}

TEST(Cli, TraceTakesCommandAfterDoubleDash) {
    auto cmd = std::get<TraceCommand>(
        parse({"trace", "--interval", "0.5", "-q", "-o", "t.json", "--metrics", "9464", "--",
               "iperf3", "-c", "h", "-o", "x", "--", "y"}));
    const TraceOptions& o = cmd.options;
    EXPECT_EQ(o.request.command,
              (std::vector<std::string>{"iperf3", "-c", "h", "-o", "x", "--", "y"}));
    EXPECT_DOUBLE_EQ(o.interval_seconds, 0.5);
    EXPECT_TRUE(o.quiet);
    EXPECT_EQ(o.output, "t.json");
    EXPECT_EQ(o.metrics, "9464");
    auto pid = std::get<TraceCommand>(
        parse({"trace", "--pid", "12,13", "--netns", "/a", "--netns", "/b", "--duration", "3"}));
    EXPECT_EQ(pid.options.request.pids, "12,13");
    EXPECT_EQ(pid.options.request.netns, (std::vector<std::string>{"/a", "/b"}));
    EXPECT_TRUE(pid.options.request.command.empty());
    EXPECT_DOUBLE_EQ(pid.options.duration_seconds, 3);
}

TEST(Cli, TraceBadValues) {
    expect_usage_error({"trace", "--interval", "0", "--", "true"}, {"--interval"});
    expect_usage_error({"trace", "--interval", "0.01", "--", "true"}, {"--interval"});
    expect_usage_error({"trace", "--duration", "-1", "--", "true"}, {"--duration"});
    expect_usage_error({"trace", "--hooks", "magic", "--", "true"}, {"magic"});
    expect_usage_error({"trace", "--metrics", ":80", "--", "true"}, {"--metrics"});
    expect_usage_error({"trace", "--"}, {"no COMMAND after --"});
    expect_usage_error({"trace", "iperf3"}, {"iperf3"});
}

TEST(Cli, UdpAndZerocopyReceivePaths) {
    RunCommand cmd =
        parse_run({"--protocol", "udp", "--size", "4K", "--threads", "1", "--transport", "veth"});
    // The preset's strategies that run over udp.
    ASSERT_EQ(cmd.plan.size(), 3u);
    for (const CellSpec& c : cmd.plan) {
        EXPECT_EQ(c.protocol, Protocol::udp);
        EXPECT_EQ(c.udp_gso, 0u);
        EXPECT_NE(c.strategy, Strategy::per_field);
    }
    cmd = parse_run({"--protocol", "udp", "--udp-gso", "1472", "--size", "1M", "-s", "zero-copy",
                     "-t", "1", "--transport", "veth"});
    ASSERT_EQ(cmd.plan.size(), 1u);
    EXPECT_EQ(cmd.plan[0].udp_gso, 1472u);
    cmd = parse_run({"--receive", "zerocopy", "-s", "zero-copy", "--size", "64K", "-t", "1",
                     "--transport", "veth,loopback"});
    ASSERT_EQ(cmd.plan.size(), 2u);
    EXPECT_EQ(cmd.plan[0].receive, Receive::zerocopy);
    EXPECT_EQ(cmd.plan[0].protocol, Protocol::tcp);
}

// The udp zerocopy fallbacks: corked datagrams, and the sender's veth without TX checksum
// offload, on udp cells only.
TEST(Cli, UdpCorkAndTxChecksum) {
    RunCommand cmd = parse_run({"--protocol", "udp", "--udp-cork", "-s", "one-copy,zero-copy",
                                "--size", "1K", "-t", "1", "--transport", "veth"});
    ASSERT_EQ(cmd.plan.size(), 2u);
    for (const CellSpec& c : cmd.plan) {
        EXPECT_TRUE(c.udp_cork);
        EXPECT_FALSE(c.tx_checksum_off);
    }
    cmd = parse_run({"--protocol", "tcp,udp", "--tx-checksum", "off", "-s", "zero-copy", "--size",
                     "1K", "-t", "1", "--transport", "veth,forward"});
    ASSERT_EQ(cmd.plan.size(), 4u);
    for (const CellSpec& c : cmd.plan)
        EXPECT_EQ(c.tx_checksum_off, c.protocol == Protocol::udp);
    cmd = parse_run({"--protocol", "udp", "-s", "zero-copy", "--size", "1K", "-t", "1"});
    for (const CellSpec& c : cmd.plan) {
        EXPECT_FALSE(c.udp_cork);
        EXPECT_FALSE(c.tx_checksum_off);
    }
}

TEST(Cli, BadUdpFallbackOptionsAreRefused) {
    expect_usage_error({"run", "--udp-cork"}, {"--udp-cork", "--protocol udp"});
    expect_usage_error({"run", "--protocol", "tcp", "--udp-cork"}, {"--udp-cork", "udp cells"});
    expect_usage_error({"run", "--tx-checksum", "off"}, {"--tx-checksum off", "--protocol udp"});
    expect_usage_error({"run", "--protocol", "udp", "--tx-checksum", "maybe"},
                       {"'maybe'", "on, off"});
    expect_usage_error({"run", "--protocol", "udp", "--udp-cork", "-s", "two-copy"},
                       {"--udp-cork", "two-copy", "nothing to cork"});
    expect_usage_error({"run", "--protocol", "udp", "--udp-cork", "--udp-gso", "1400", "-s",
                        "zero-copy", "--size", "64K"},
                       {"--udp-cork", "not with --udp-gso"});
    expect_usage_error({"run", "--protocol", "udp", "--tx-checksum", "off", "-s", "zero-copy",
                        "--transport", "loopback"},
                       {"--tx-checksum off", "loopback", "veth, forward"});
}

TEST(CliBinary, UdpCorkOverTcpExitsTwoWithOneLine) {
    auto r = testsupport::run_copyscope({"run", "--protocol", "tcp", "--udp-cork", "--no-trace"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--udp-cork"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(Cli, BadPathsAreRefusedBeforeAnythingStarts) {
    expect_usage_error({"run", "--protocol", "udp", "--size", "65508", "-s", "one-copy"},
                       {"65508-byte message", "above the 65507 bytes", "--udp-gso"});
    expect_usage_error({"run", "--protocol", "udp", "--size", "64K", "-s", "one-copy"},
                       {"--udp-gso SIZE"});
    expect_usage_error({"run", "--protocol", "sctp"}, {"'sctp'", "tcp, udp"});
    expect_usage_error({"run", "--protocol", "udp", "-s", "per-field"},
                       {"per-field", "does not run over udp"});
    expect_usage_error({"run", "--udp-gso", "1400"}, {"--udp-gso", "--protocol udp"});
    expect_usage_error({"run", "--protocol", "udp", "--udp-gso", "1473", "--transport", "veth"},
                       {"--udp-gso 1473", "MTU 1500", "at most 1472"});
    expect_usage_error({"run", "--protocol", "udp", "--udp-gso", "0"}, {"from 1 to 65507"});
    expect_usage_error({"run", "--protocol", "udp", "--receive", "zerocopy"},
                       {"TCP_ZEROCOPY_RECEIVE", "tcp only"});
    expect_usage_error({"run", "--receive", "mmap"}, {"'mmap'", "copy, zerocopy"});
    expect_usage_error({"run", "--protocol", "udp", "--pattern", "rr", "-s", "one-copy"},
                       {"rr is tcp only"});
}

TEST(CliBinary, OversizedUdpMessageExitsTwoWithOneLine) {
    auto r = testsupport::run_copyscope(
        {"run", "--protocol", "udp", "--size", "128K", "-s", "one-copy", "--no-trace"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("--udp-gso"), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty());
}
