// The udp MSG_ZEROCOPY fallbacks on this machine's kernel, on real cells in real labs (root:
// namespaces, veth, BPF): each moves exact bytes with verified payload, its bytes copied at
// send are all of the MSG_ZEROCOPY bytes or none, and the ledger names the rule of
// __ip_append_data that made it so.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "lab/lab.h"
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

uint64_t u64(const nlohmann::json& j, const char* key) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << j.dump();
    return j.value(key, uint64_t{0});
}

class UdpFallbackLab : public ::testing::Test {
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
CellObserver* UdpFallbackLab::tracer_ = nullptr;

CellSpec udp_cell(Strategy s, uint64_t size, uint32_t gso = 0) {
    CellSpec spec;
    spec.protocol = Protocol::udp;
    spec.strategy = s;
    spec.transport = Transport::veth;
    spec.message_size = size;
    spec.udp_gso = gso;
    spec.bytes = 4 * MiB;
    spec.verify_payload = true;
    return spec;
}

// Every byte sent arrived or was counted dropped, none wrong; the checks (the fallback's
// among them) passed; one sock_send_length per sendmsg.
nlohmann::json expect_exact(const CellResult& r) {
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const AppCounts& a = r.app;
    EXPECT_EQ(a.payload_errors, 0u);
    EXPECT_GT(a.datagrams_received, 0u);
    EXPECT_EQ(a.bytes_received + a.bytes_dropped, a.bytes_sent);
    EXPECT_GE(a.bytes_sent, 4 * MiB);
    if (!r.ledger) {
        ADD_FAILURE() << "no ledger";
        return nullptr;
    }
    nlohmann::json L = to_json(*r.ledger);
    EXPECT_TRUE(L["tracer"]["available"].get<bool>()) << L["tracer"].dump();
    EXPECT_EQ(u64(L, "receive_copy_bytes"), a.bytes_received);
    uint64_t send_calls = 0;
    for (const auto& [role, n] : L["by_namespace"].items())
        send_calls += u64(n["raw"], "udp_send_calls");
    EXPECT_EQ(send_calls, a.send_calls);
    return L;
}

// Every MSG_ZEROCOPY byte copied at send, every completion COPIED, and the cause is the rule.
void expect_fell_back(const CellResult& r, const nlohmann::json& L, const char* rule) {
    EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), 0u);
    if (std::string(rule) != "corked") EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
    ASSERT_TRUE(r.zerocopy.has_value());
    EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
    EXPECT_EQ(r.zerocopy->completions_copied, r.zerocopy->sends);
    const nlohmann::json& u = L["udp_zerocopy_send"];
    EXPECT_EQ(u["rules"], nlohmann::json::array({rule})) << u.dump();
    EXPECT_EQ(u["expected"], "copied_at_send");
    ASSERT_TRUE(u["cause"].is_string()) << u.dump();
    EXPECT_EQ(u["cause_evidence"], "inferred");
    const std::string verdict = L["verdict"].get<std::string>();
    EXPECT_NE(verdict.find("100% of zerocopy bytes copied at send time (udp fallback: " +
                           u["cause"].get<std::string>()),
              std::string::npos)
        << verdict;
}

// Corked: each 1 KiB datagram's 8 fields appended with MSG_MORE, the last without: the
// kernel copies every piece (udp_sendmsg corks, __ip_append_data gives no CHECKSUM_PARTIAL).
TEST_F(UdpFallbackLab, CorkedDatagramsAreCopiedAtSend) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec = udp_cell(Strategy::zero_copy, 1024);
    spec.udp_cork = true;
    CellResult r = run(spec);
    const nlohmann::json L = expect_exact(r);
    ASSERT_TRUE(L.is_object());
    EXPECT_EQ(r.app.datagrams_sent, r.app.messages_sent);
    EXPECT_EQ(r.app.send_calls, 8 * r.app.messages_sent);
    expect_fell_back(r, L, "corked");
    EXPECT_TRUE(L["udp_zerocopy_send"]["corked"].get<bool>());
    // The first field goes to the skb's linear part, the other 7 are copied into the
    // socket's page fragments; the skb keeps the send's zerocopy ubuf_info, so local delivery
    // copies those fragments again (skb_orphan_frags_rx): 7/8 of the bytes, a second time.
    const uint64_t deferred = u64(L, "deferred_copy_bytes");
    EXPECT_GE(deferred, r.app.bytes_received / 8 * 7);
    EXPECT_LE(deferred, r.app.bytes_sent / 8 * 7);
    EXPECT_NE(L["verdict"].get<std::string>().find("copied a second time"), std::string::npos);
    EXPECT_TRUE(L["copies_per_byte_expected"].is_null());
}

// The same 1 KiB datagrams uncorked through a sender's veth without TX checksum offload:
// copied at send; the lab read the device back (checksum off, scatter-gather still on).
TEST_F(UdpFallbackLab, NoChecksumOffloadCopiesAtSend) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec = udp_cell(Strategy::zero_copy, 1024);
    spec.tx_checksum_off = true;
    CellResult r = run(spec);
    const nlohmann::json L = expect_exact(r);
    ASSERT_TRUE(L.is_object());
    expect_fell_back(r, L, "no_checksum_offload");
    const nlohmann::json& d = L["udp_zerocopy_send"]["device"];
    EXPECT_EQ(d["name"], "cs-send");
    EXPECT_FALSE(d["tx_checksum"].get<bool>());
    EXPECT_TRUE(d["scatter_gather"].get<bool>()) << d.dump();
}

// 4 KiB datagrams above veth's MTU 1500 without GSO.
TEST_F(UdpFallbackLab, AboveTheMtuCopiesAtSend) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run(udp_cell(Strategy::zero_copy, 4096));
    const nlohmann::json L = expect_exact(r);
    ASSERT_TRUE(L.is_object());
    expect_fell_back(r, L, "above_mtu");
    EXPECT_EQ(L["udp_zerocopy_send"]["device"]["mtu"], 1500);
}

// Control: a GSO send on a device with checksum offload breaks no rule: every byte pinned.
TEST_F(UdpFallbackLab, GsoWithChecksumOffloadIsPinned) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run(udp_cell(Strategy::zero_copy, 65536, 1472));
    const nlohmann::json L = expect_exact(r);
    ASSERT_TRUE(L.is_object());
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), 0u);
    const nlohmann::json& u = L["udp_zerocopy_send"];
    EXPECT_EQ(u["rules"], nlohmann::json::array());
    EXPECT_EQ(u["expected"], "pinned");
    EXPECT_EQ(u["cause"], "none");
    EXPECT_TRUE(u["device"]["tx_checksum"].get<bool>());
}

// one-copy corked: the same pieces, copied at send as any one-copy datagram; exact bytes.
TEST_F(UdpFallbackLab, OneCopyCorkedMovesExactBytes) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec = udp_cell(Strategy::one_copy, 1024);
    spec.udp_cork = true;
    CellResult r = run(spec);
    const nlohmann::json L = expect_exact(r);
    ASSERT_TRUE(L.is_object());
    EXPECT_EQ(r.app.send_calls, 8 * r.app.messages_sent);
    EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), r.app.bytes_sent);
    EXPECT_FALSE(L.contains("udp_zerocopy_send"));
}

// The offload switch is the cell's alone: a lab made after one with it off has it on.
TEST_F(UdpFallbackLab, ChecksumOffloadIsOffOnlyInItsLab) {
    COPYSCOPE_REQUIRE_ROOT();
    {
        auto off = Lab::create(Transport::veth, "", 0, false);
        ASSERT_TRUE(off->sender_device().has_value());
        EXPECT_FALSE(off->sender_device()->tx_checksum);
    }
    auto on = Lab::create(Transport::veth);
    ASSERT_TRUE(on->sender_device().has_value());
    EXPECT_TRUE(on->sender_device()->tx_checksum);
    EXPECT_EQ(on->sender_device()->mtu, 1500u);
    EXPECT_THROW(Lab::create(Transport::loopback, "", 0, false), RunError);
}

} // namespace
} // namespace copyscope
