// The udp and zerocopy-receive paths on this machine's kernel, on real cells in real labs
// (root: namespaces, veth, BPF, a cgroup getsockopt program): exact bytes with verified
// payload, drops accounted for, and the copy ledger of each path.
#include <gtest/gtest.h>

#include "report/ledger_json.h"
#include "runner/runner.h"
#include "support/system_probe.h"
#include "tracer/tracer.h"

namespace copyscope {
namespace {

constexpr uint64_t MiB = 1 << 20;

std::string failed_checks(const CellResult& r) {
    std::string out;
    for (const auto& c : r.checks)
        if (!c.passed) out += c.name + ": " + c.detail + "\n";
    return out;
}

nlohmann::json ledger_json(const CellResult& r) {
    return r.ledger ? to_json(*r.ledger) : nlohmann::json(nullptr);
}

uint64_t u64(const nlohmann::json& j, const char* key) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << j.dump();
    return j.value(key, uint64_t{0});
}

class PathsLab : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!testsupport::running_as_root()) return;
        tracer_ = make_tracer({HookMode::automatic}).release();
    }
    static void TearDownTestSuite() {
        delete tracer_;
        tracer_ = nullptr;
    }
    static CellResult run(CellSpec spec) { return run_cell(spec, {tracer_}); }
    static CellObserver* tracer_;
};
CellObserver* PathsLab::tracer_ = nullptr;

CellSpec udp_cell(Strategy s, Transport t, uint64_t size, uint32_t gso, uint64_t bytes) {
    CellSpec spec;
    spec.protocol = Protocol::udp;
    spec.strategy = s;
    spec.transport = t;
    spec.message_size = size;
    spec.udp_gso = gso;
    spec.bytes = bytes;
    spec.verify_payload = true;
    return spec;
}

// What every udp cell must hold, lossy or not: whole messages sent, every datagram received
// or dropped where the kernel counts it, each received one verified, the receive copy exact.
void expect_udp_accounted(const CellResult& r, const nlohmann::json& L) {
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const AppCounts& a = r.app;
    EXPECT_EQ(a.payload_errors, 0u);
    EXPECT_GT(a.datagrams_received, 0u);
    EXPECT_LE(a.datagrams_received + a.datagrams_dropped, a.datagrams_sent);
    EXPECT_EQ(a.bytes_received + a.bytes_dropped, a.bytes_sent);
    ASSERT_TRUE(L.is_object());
    ASSERT_TRUE(L["tracer"]["available"].get<bool>()) << L["tracer"].dump();
    // sock_recv_length: one per datagram copied to the receiver, exact.
    EXPECT_EQ(u64(L, "receive_copy_bytes"), a.bytes_received);
    // sock_send_length: one per udp sendmsg.
    uint64_t send_calls = 0;
    for (const auto& [role, n] : L["by_namespace"].items())
        send_calls += u64(n["raw"], "udp_send_calls");
    EXPECT_EQ(send_calls, a.send_calls);
}

struct UdpCase {
    Strategy strategy;
    Transport transport;
};

std::string udp_case_name(const ::testing::TestParamInfo<UdpCase>& info) {
    std::string n = std::string(to_string(info.param.strategy)) + "_" +
                    std::string(to_string(info.param.transport));
    for (char& c : n)
        if (c == '-') c = '_';
    return n;
}

class UdpCell : public PathsLab, public ::testing::WithParamInterface<UdpCase> {};

// 1400-byte datagrams fit the MTU: zero-copy pins them and the kernel copies them at local
// delivery; the copying strategies copy them at send. Copies per byte: the model's.
TEST_P(UdpCell, LedgerOfDatagramsThatFitTheMtu) {
    COPYSCOPE_REQUIRE_ROOT();
    const UdpCase c = GetParam();
    CellResult r = run(udp_cell(c.strategy, c.transport, 1400, 0, 4 * MiB));
    const nlohmann::json L = ledger_json(r);
    expect_udp_accounted(r, L);
    EXPECT_EQ(r.app.datagrams_sent, r.app.messages_sent);
    EXPECT_EQ(r.app.user_copy_bytes, c.strategy == Strategy::two_copy ? r.app.bytes_sent : 0u);
    if (c.strategy == Strategy::zero_copy) {
        EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), r.app.bytes_sent);
        EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), 0u);
        EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), 0u);
        // Copied at local delivery, unless dropped before it (a full backlog).
        const uint64_t deferred = u64(L, "deferred_copy_bytes");
        EXPECT_LE(deferred, r.app.bytes_sent);
        EXPECT_GE(deferred, r.app.bytes_received);
        ASSERT_TRUE(r.zerocopy.has_value());
        EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
        EXPECT_EQ(r.zerocopy->completions_copied, r.zerocopy->sends);
    } else {
        EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), r.app.bytes_sent);
        EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), 0u);
        EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
    }
    ASSERT_TRUE(L["copies_per_byte"].is_number()) << L["copies_per_byte"].dump();
    EXPECT_NEAR(L["copies_per_byte"].get<double>(), L["copies_per_byte_expected"].get<double>(),
                0.01);
}

INSTANTIATE_TEST_SUITE_P(Lab, UdpCell,
                         ::testing::Values(UdpCase{Strategy::two_copy, Transport::veth},
                                           UdpCase{Strategy::one_copy, Transport::veth},
                                           UdpCase{Strategy::zero_copy, Transport::veth},
                                           UdpCase{Strategy::zero_copy, Transport::loopback}),
                         udp_case_name);

// A 4 KiB datagram is above veth's MTU: without GSO it goes as IP fragments, and
// MSG_ZEROCOPY falls back to a copy at send for every byte; the kernel says COPIED.
TEST_F(PathsLab, UdpZeroCopyAboveTheMtuFallsBackAtSend) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run(udp_cell(Strategy::zero_copy, Transport::veth, 4096, 0, 4 * MiB));
    const nlohmann::json L = ledger_json(r);
    expect_udp_accounted(r, L);
    EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), 0u);
    EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
    ASSERT_TRUE(r.zerocopy.has_value());
    EXPECT_EQ(r.zerocopy->completions_copied, r.zerocopy->sends);
    const std::string verdict = L["verdict"].get<std::string>();
    EXPECT_NE(verdict.find("100% of zerocopy bytes copied at send time (udp fallback"),
              std::string::npos)
        << verdict;
}

// With UDP_SEGMENT the same 64 KiB message goes by reference: GSO sends of 1400-byte
// segments, each cut where its fields' pages would exceed one skb's fragments, pinned, then
// copied at local delivery.
TEST_F(PathsLab, UdpZeroCopyWithGsoPinsThenCopiesAtDelivery) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run(udp_cell(Strategy::zero_copy, Transport::veth, 65536, 1400, 8 * MiB));
    const nlohmann::json L = ledger_json(r);
    expect_udp_accounted(r, L);
    // 65536 = 46 * 1400 + 1136: 47 datagrams a message, in at least two sends.
    EXPECT_GE(r.app.send_calls, 2 * r.app.messages_sent);
    EXPECT_EQ(r.app.datagrams_sent, 47 * r.app.messages_sent);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), 0u);
    EXPECT_GE(u64(L, "deferred_copy_bytes"), r.app.bytes_received);
    ASSERT_TRUE(r.zerocopy.has_value());
    EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
}

// A receiver that cannot keep up loses datagrams: the cell still passes, the kernel's
// counters account for every one, and the report says how much was lost.
TEST_F(PathsLab, LossyCellCountsWhatItLost) {
    COPYSCOPE_REQUIRE_ROOT();
    // GSO sends of 43 segments outrun a receiver reading one datagram per call.
    CellResult r = run(udp_cell(Strategy::one_copy, Transport::loopback, 65536, 1400, 32 * MiB));
    const nlohmann::json L = ledger_json(r);
    expect_udp_accounted(r, L);
    const uint64_t lost = r.app.datagrams_sent - r.app.datagrams_received;
    EXPECT_EQ(r.app.bytes_dropped == 0, lost == 0);
    const Check* bytes = nullptr;
    for (const Check& c : r.checks)
        if (c.name == "bytes_received_plus_dropped_equal_sent") bytes = &c;
    ASSERT_NE(bytes, nullptr);
    EXPECT_NE(bytes->detail.find("% lost"), std::string::npos) << bytes->detail;
    if (lost == 0) GTEST_SKIP() << "nothing was lost this time: the loss accounting is untested";
}

// TCP_ZEROCOPY_RECEIVE: what the kernel mapped (cgroup getsockopt program) equals what the
// receiver counted, and only the rest is copied (skb_copy_datagram_iovec).
TEST_F(PathsLab, ZerocopyReceiveMappedApartFromCopied) {
    COPYSCOPE_REQUIRE_ROOT();
    for (Strategy s : {Strategy::zero_copy, Strategy::one_copy}) {
        CellSpec spec;
        spec.strategy = s;
        spec.receive = Receive::zerocopy;
        spec.message_size = 65536;
        spec.bytes = 32 * MiB;
        spec.verify_payload = true;
        CellResult r = run(spec);
        ASSERT_TRUE(r.error.empty()) << r.error;
        EXPECT_EQ(failed_checks(r), "") << to_string(s);
        EXPECT_EQ(r.app.bytes_received, r.app.bytes_sent);
        EXPECT_EQ(r.app.payload_errors, 0u);
        EXPECT_EQ(r.app.receive_mapped_bytes + r.app.receive_copied_bytes, r.app.bytes_received);
        const nlohmann::json L = ledger_json(r);
        ASSERT_TRUE(L["hooks"]["receive_mapped"].contains("mechanism"))
            << L["hooks"]["receive_mapped"].dump();
        EXPECT_EQ(L["hooks"]["receive_mapped"]["mechanism"], "cgroup_sockopt");
        EXPECT_EQ(u64(L, "receive_mapped_bytes"), r.app.receive_mapped_bytes) << to_string(s);
        EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.receive_copied_bytes) << to_string(s);
        EXPECT_NEAR(L["copies_per_byte"].get<double>(), L["copies_per_byte_expected"].get<double>(),
                    0.01);
        if (s == Strategy::zero_copy) {
            // skb_copy_ubufs gives the receiver fresh order-0 pages at delivery: mapped.
            EXPECT_GT(r.app.receive_mapped_bytes, r.app.bytes_received / 2);
        }
    }
}

} // namespace
} // namespace copyscope
