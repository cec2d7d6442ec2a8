// The trace's pure parts: a connection's ledger from its socket's counts (the same figures
// and evidence as a cell's ledger), sums, verdicts, the report read back unchanged, the live
// view's lines.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "ledger/connection.h"
#include "model/hook.h"
#include "report/trace_report.h"
#include "trace/assemble.h"
#include "trace/live.h"

namespace copyscope {
namespace {

HookUse use(const char* hook, HookMechanism m, Evidence e) {
    return HookUse{hook, Measured<HookChoice>(HookChoice{m, {"target"}, "note"}, e)};
}

std::vector<HookUse> tracepoint_hooks() {
    return {use(hook_send, HookMechanism::tp_btf, Evidence::exact),
            use(hook_pinned_pages, HookMechanism::tp_btf, Evidence::inferred),
            use(hook_deferred, HookMechanism::inferred, Evidence::inferred),
            use(hook_receive, HookMechanism::tp_btf, Evidence::exact),
            use(hook_retransmits, HookMechanism::tp_btf, Evidence::exact),
            use(hook_completions, HookMechanism::tp_btf, Evidence::exact),
            use(hook_udp, HookMechanism::tp_btf, Evidence::exact)};
}

SocketRecord record(uint32_t pid, const char* comm, uint16_t lport, uint16_t rport) {
    SocketRecord r;
    r.id.cookie = 0x1000 + lport;
    r.local = {"198.18.0.1", lport};
    r.remote = {"198.18.0.2", rport};
    r.netns = 11;
    r.tgid = pid;
    r.comm = comm;
    return r;
}

TEST(TraceLedger, SendfileConnectionIsByReferenceAndExact) {
    SocketRecord r = record(7, "iperf3", 40000, 5201);
    r.own.send_bytes = 1000037;
    r.own.send_copy_bytes = 37;
    r.own.splice_bytes = 1000000;
    const TraceLedger L = assemble({r}, tracepoint_hooks(), {}, [](uint64_t) { return "/x"; });
    ASSERT_EQ(L.processes.size(), 1u);
    const ConnectionLedger& c = L.processes[0].connections[0];
    EXPECT_EQ(*c.ledger.bytes_sent, 1000037u);
    EXPECT_EQ(*c.ledger.sent_by_reference_bytes, 1000000u);
    EXPECT_EQ(*c.ledger.figures.kernel_send_copy_bytes, 37u);
    EXPECT_EQ(c.ledger.figures.kernel_send_copy_bytes.evidence(), Evidence::exact);
    EXPECT_NE(c.verdict.find("sendfile/splice"), std::string::npos) << c.verdict;
    EXPECT_EQ(*L.totals.bytes_sent, 1000037u);
}

TEST(TraceLedger, BeforeSpliceAtSendByReferenceIsUnsupported) {
    SocketRecord r = record(7, "iperf3", 40000, 5201);
    r.own.send_bytes = 10;
    const TraceLedger L =
        assemble({r}, tracepoint_hooks(), TraceKernel{false}, [](uint64_t) { return "/x"; });
    EXPECT_FALSE(L.processes[0].connections[0].ledger.sent_by_reference_bytes);
}

TEST(TraceLedger, ZerocopyDeferredElsewhereAndCompletionsAsRead) {
    SocketRecord r = record(9, "zc", 40001, 5301);
    r.own.send_bytes = r.own.zc_pinned_bytes = 65536;
    r.own.zc_read_sends = r.own.zc_read_copied = 1;
    r.own.zc_read_notifications = 1;
    KernelCounts peer;
    peer.rx_zc_bytes = 65536; // received in namespace 22, not forwarded on: copied there
    r.elsewhere[22] = peer;
    SocketRecord quiet = record(9, "zc", 40002, 5302); // counted nothing: left out
    const TraceLedger L = assemble({r, quiet}, tracepoint_hooks(), {}, [](uint64_t) { return ""; });
    ASSERT_EQ(L.processes[0].connections.size(), 1u);
    const TraceFigures& f = L.processes[0].connections[0].ledger;
    EXPECT_EQ(*f.figures.zerocopy_pinned_bytes, 65536u);
    EXPECT_EQ(*f.figures.deferred_copy_bytes, 65536u);
    EXPECT_EQ(f.figures.deferred_copy_bytes.evidence(), Evidence::inferred);
    ASSERT_EQ(f.deferred_by_namespace.size(), 1u);
    EXPECT_EQ(f.deferred_by_namespace[0].netns, 22u);
    EXPECT_EQ(*f.completions.copied, 1u);
    EXPECT_EQ(*f.completions.notifications, 1u);
}

// TCP_ZEROCOPY_RECEIVE per connection: exact from the getsockopt program; where it could not
// be attached, unsupported with the attach's reason; UDP never maps.
TEST(TraceLedger, ZerocopyReceiveMappedOrWhyNot) {
    SocketRecord r = record(5, "rx", 5201, 40000);
    r.own.recv_bytes = 4096;
    r.own.zcrx_mapped_bytes = 61440;
    const auto figures = [&](const std::vector<HookUse>& hooks) {
        const TraceLedger L = assemble({r}, hooks, {}, [](uint64_t) { return ""; });
        return L.processes.at(0).connections.at(0).ledger.zerocopy_receive_mapped_bytes;
    };
    std::vector<HookUse> hooks = tracepoint_hooks();
    hooks.push_back(use(hook_receive_mapped, HookMechanism::cgroup_sockopt, Evidence::exact));
    const Measured<uint64_t> mapped = figures(hooks);
    ASSERT_TRUE(mapped);
    EXPECT_EQ(*mapped, 61440u);
    EXPECT_EQ(mapped.evidence(), Evidence::exact);

    hooks.back().form = Unsupported{"attaching cs_zcrx_getsockopt: EPERM"};
    const Measured<uint64_t> none = figures(hooks);
    EXPECT_FALSE(none);
    EXPECT_EQ(none.reason(), "attaching cs_zcrx_getsockopt: EPERM");

    r.protocol = TraceProtocol::udp;
    r.own.recv_bytes = 100;
    EXPECT_FALSE(figures(tracepoint_hooks()));
}

TEST(TraceLedger, NothingCountedIsAnEmptyLedger) {
    const TraceLedger L = assemble({}, tracepoint_hooks(), {}, [](uint64_t) { return ""; });
    EXPECT_TRUE(L.processes.empty());
    EXPECT_EQ(*L.totals.bytes_sent, 0u);
}

TEST(TraceReport, ComesBackUnchanged) {
    SocketRecord r = record(7, "iperf3", 40000, 5201);
    r.own.send_bytes = r.own.send_copy_bytes = 1234;
    r.own.recv_bytes = 99;
    const TraceLedger L = assemble({r}, tracepoint_hooks(), {}, [](uint64_t) { return "/x"; });
    TraceReport rep;
    rep.host.kernel_release = "6.18";
    rep.hooks = tracepoint_hooks();
    rep.hook_mode = HookMode::automatic;
    rep.tracer_cost = Unsupported{"no statistics"};
    rep.scope.who = "command";
    rep.scope.command = {"iperf3", "-c", "h"};
    rep.started_at = "2026-01-01T00:00:00Z";
    rep.end = TraceEnd::signal;
    rep.exit_status = 130;
    rep.processes = L.processes;
    rep.totals = L.totals;
    const nlohmann::json j = to_json(rep);
    EXPECT_EQ(j["schema"], "copyscope-trace");
    const TraceReport back = trace_report_from_json(j);
    EXPECT_EQ(to_json(back), j);
    // Typed all the way: reading the written report again gives the same value.
    EXPECT_EQ(trace_report_from_json(to_json(back)), back);
    EXPECT_THROW(trace_report_from_json(nlohmann::json{{"schema", "copyscope-report"}}),
                 UsageError);
}

TEST(TraceLive, PlainLineAndTerminalBlock) {
    SocketRecord r = record(7, "iperf3", 40000, 5201);
    r.own.send_bytes = r.own.send_copy_bytes = 2000000;
    const TraceLedger L = assemble({r}, tracepoint_hooks(), {}, [](uint64_t) { return ""; });
    LiveView view(LiveView::Mode::lines);
    const std::string line = view.line(L, 3.0);
    EXPECT_NE(line.find("sent 2 MB"), std::string::npos) << line;
    EXPECT_NE(line.find("1 connections, 1 processes"), std::string::npos) << line;
    const auto block = view.block(L, 1.0, 3, 100);
    ASSERT_GE(block.size(), 4u);
    EXPECT_NE(block[3].find("iperf3"), std::string::npos) << block[3];
    EXPECT_NE(block[3].find("198.18.0.2:5201"), std::string::npos) << block[3];
    EXPECT_NE(block[3].find("2 MB/s"), std::string::npos) << block[3]; // 2 MB in 1 s
}

} // namespace
} // namespace copyscope
