// The udp zerocopy fallback's cause on synthetic numbers: which rules of __ip_append_data a
// cell's settings break, whether the kernel's bytes agree, the check, the verdict's words and
// the report's round trip.
#include <gtest/gtest.h>

#include "ledger/ledger.h"
#include "ledger/udp_fallback.h"
#include "report/ledger_json.h"

namespace copyscope {
namespace {

constexpr uint64_t MiB = 1 << 20;

HookUse use(const char* hook, HookMechanism m, std::vector<std::string> targets,
            Evidence e = Evidence::exact) {
    return HookUse{hook, Measured<HookChoice>(HookChoice{m, std::move(targets), ""}, e)};
}

std::vector<HookUse> udp_hooks() {
    using enum HookMechanism;
    return {
        use(hook_send, tp_btf, {"sock_send_length"}),
        use(hook_pinned_pages, tp_btf, {"net_dev_start_xmit"}),
        use(hook_deferred, inferred, {"netif_receive_skb"}, Evidence::inferred),
        use(hook_receive, tp_btf, {"skb_copy_datagram_iovec"}),
        use(hook_completions, userspace, {"MSG_ERRQUEUE"}),
        use(hook_udp_send, tp_btf, {"sock_send_length"}, Evidence::inferred),
        use(hook_udp_pinned, tp_btf, {"net_dev_start_xmit"}),
        use(hook_udp_receive, tp_btf, {"sock_recv_length"}),
    };
}

SendDevice veth_device(bool tx_checksum = true) {
    return SendDevice{"cs-send", 1500, tx_checksum, true};
}

CellSpec udp_spec(uint64_t size, uint32_t gso = 0, bool cork = false) {
    CellSpec s;
    s.strategy = Strategy::zero_copy;
    s.protocol = Protocol::udp;
    s.message_size = size;
    s.udp_gso = gso;
    s.udp_cork = cork;
    return s;
}

// A zero-copy udp cell over veth whose MSG_ZEROCOPY bytes were `pinned` at transmit, the
// rest copied at send; everything received.
LedgerInput udp_cell(const CellSpec& spec, std::optional<SendDevice> device, uint64_t bytes,
                     uint64_t pinned) {
    LedgerInput in;
    in.strategy = Strategy::zero_copy;
    in.transport = Transport::veth;
    in.protocol = Protocol::udp;
    in.app.bytes_sent = in.app.bytes_received = bytes;
    in.zerocopy = ZerocopyStats{};
    in.udp_send = udp_send_settings(spec, std::move(device));
    TracerView tv;
    tv.hooks = udp_hooks();
    tv.sender_ns = 4026532001;
    tv.receiver_ns = 4026532002;
    tv.sender.udp_send_bytes = tv.sender.udp_zc_send_bytes = bytes;
    tv.sender.udp_xmit_pinned_bytes = pinned;
    tv.sender.udp_xmit_copied_zc_bytes = bytes - pinned;
    tv.receiver.udp_recv_bytes = bytes;
    tv.receiver.rx_zc_bytes = pinned; // the pinned pages reach the receiver, copied there
    in.tracer = tv;
    return in;
}

struct Out {
    LedgerResult result;
    nlohmann::json json;
};

Out compute(const LedgerInput& in) {
    Out o{compute_ledger(in), {}};
    o.json = to_json(o.result.ledger);
    CellSpec spec;
    spec.strategy = in.strategy;
    spec.transport = in.transport;
    spec.protocol = in.protocol;
    // The section reads back as written, and the report as a whole writes the same again.
    // (The figures' evidence of udp cells reads back from the tcp hooks' names: not compared.)
    const Ledger back = ledger_from_json(JsonIn(o.json, "ledger"), spec);
    EXPECT_EQ(back.udp_zerocopy_send, o.result.ledger.udp_zerocopy_send);
    EXPECT_EQ(to_json(back), o.json) << nlohmann::json::diff(o.json, to_json(back)).dump();
    return o;
}

const Check* fallback_check(const Out& o) {
    for (const auto& c : o.result.checks)
        if (c.name.find("udp zerocopy fallback") != std::string::npos) return &c;
    return nullptr;
}

TEST(UdpFallbackRules, EachConditionOfIpAppendData) {
    using enum UdpFallbackRule;
    auto rules = [](const CellSpec& s, std::optional<SendDevice> d) {
        return udp_fallback_rules(udp_send_settings(s, std::move(d)));
    };
    // 1472 + 28 headers == 1500: fits; 1473 does not.
    EXPECT_TRUE(rules(udp_spec(1472), veth_device()).empty());
    EXPECT_EQ(rules(udp_spec(1473), veth_device()), std::vector{above_mtu});
    // With GSO the MTU is IP_MAX_MTU: a 64 KiB message in 1472-byte segments is pinned.
    EXPECT_TRUE(rules(udp_spec(65536, 1472), veth_device()).empty());
    EXPECT_EQ(rules(udp_spec(1024, 0, true), veth_device()), std::vector{corked});
    EXPECT_EQ(rules(udp_spec(1024), veth_device(false)), std::vector{no_checksum_offload});
    SendDevice no_sg = veth_device();
    no_sg.scatter_gather = false;
    EXPECT_EQ(rules(udp_spec(1024), no_sg), std::vector{no_scatter_gather});
    // Every rule broken is named.
    EXPECT_EQ(rules(udp_spec(4096, 0, true), veth_device(false)),
              (std::vector{above_mtu, corked, no_checksum_offload}));
    // Without the device only corking can be told.
    EXPECT_TRUE(rules(udp_spec(4096), std::nullopt).empty());
}

TEST(UdpFallbackRules, LargestGsoSendIsTheDatagram) {
    // 64 segments of 1000 bytes a send at most.
    EXPECT_EQ(udp_send_settings(udp_spec(1 << 20, 1000), std::nullopt).datagram_bytes, 64000u);
    EXPECT_EQ(udp_send_settings(udp_spec(3000, 1000), std::nullopt).datagram_bytes, 3000u);
    EXPECT_EQ(udp_send_settings(udp_spec(3000), std::nullopt).datagram_bytes, 3000u);
}

struct CauseCase {
    const char* name;
    CellSpec spec;
    bool tx_checksum;
    const char* words; // in the cause and the verdict
};

class UdpFallbackCause : public ::testing::TestWithParam<CauseCase> {};

// Every byte copied at send, as the rule predicts: the cause is named, inferred, the check
// passes and the verdict says which rule.
TEST_P(UdpFallbackCause, NamedWhenEveryByteFellBack) {
    const CauseCase& c = GetParam();
    Out o = compute(udp_cell(c.spec, veth_device(c.tx_checksum), 4 * MiB, 0));
    const auto& u = o.result.ledger.udp_zerocopy_send;
    ASSERT_TRUE(u.has_value());
    ASSERT_TRUE(u->cause) << u->cause.reason();
    EXPECT_EQ(u->cause.evidence(), Evidence::inferred);
    EXPECT_NE(u->cause->find(c.words), std::string::npos) << *u->cause;
    EXPECT_EQ(o.json["udp_zerocopy_send"]["expected"], "copied_at_send");
    EXPECT_EQ(o.json["zerocopy_fallback_bytes"], 4 * MiB);
    const Check* check = fallback_check(o);
    ASSERT_NE(check, nullptr);
    EXPECT_TRUE(check->passed) << check->detail;
    const std::string verdict = *o.result.ledger.verdict;
    EXPECT_NE(verdict.find("100% of zerocopy bytes copied at send time (udp fallback: "),
              std::string::npos)
        << verdict;
    EXPECT_NE(verdict.find(c.words), std::string::npos) << verdict;
}

INSTANTIATE_TEST_SUITE_P(Rules, UdpFallbackCause,
                         ::testing::Values(CauseCase{"above_mtu", udp_spec(4096), true, "MTU 1500"},
                                           CauseCase{"corked", udp_spec(1024, 0, true), true,
                                                     "corked"},
                                           CauseCase{"no_checksum", udp_spec(1024), false,
                                                     "cs-send without TX checksum offload"}),
                         [](const auto& info) { return std::string(info.param.name); });

// Corked: copied at send, and the part copied into page fragments copied again on the
// receive path (the skb keeps its zerocopy ubuf_info): allowed up to the bytes copied at
// send, named in the verdict, and the model says it cannot tell.
TEST(UdpFallbackCause, CorkedRecopiesAreAllowedAndNamed) {
    LedgerInput in = udp_cell(udp_spec(1024, 0, true), veth_device(), 4 * MiB, 0);
    in.tracer->receiver.rx_zc_bytes = 4 * MiB / 8 * 7;
    in.zerocopy->completions = in.zerocopy->completions_copied = in.zerocopy->sends = 32768;
    Out o = compute(in);
    for (const auto& c : o.result.checks)
        EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
    EXPECT_EQ(o.json["deferred_copy_bytes"], 4 * MiB / 8 * 7);
    EXPECT_TRUE(o.json["copies_per_byte_expected"].is_null());
    EXPECT_NE(o.result.ledger.verdict->find("copied a second time"), std::string::npos)
        << *o.result.ledger.verdict;
    // More re-copied than was copied at send: not explained.
    in.tracer->receiver.rx_zc_bytes = 5 * MiB;
    in.app.bytes_received = in.tracer->receiver.udp_recv_bytes = 4 * MiB;
    o = compute(in);
    bool failed = false;
    for (const auto& c : o.result.checks)
        if (c.name.find("deferred copy agrees with COPIED") != std::string::npos)
            failed = !c.passed;
    EXPECT_TRUE(failed);
}

// A GSO send on a device with checksum offload: no rule, every byte pinned, cause "none".
TEST(UdpFallbackCause, GsoWithChecksumOffloadIsPinned) {
    Out o = compute(udp_cell(udp_spec(65536, 1472), veth_device(), 4 * MiB, 4 * MiB));
    const auto& u = o.result.ledger.udp_zerocopy_send;
    ASSERT_TRUE(u.has_value());
    EXPECT_TRUE(u->rules.empty());
    ASSERT_TRUE(u->cause) << u->cause.reason();
    EXPECT_EQ(*u->cause, "none");
    EXPECT_EQ(o.json["udp_zerocopy_send"]["expected"], "pinned");
    const Check* check = fallback_check(o);
    ASSERT_NE(check, nullptr);
    EXPECT_TRUE(check->passed) << check->detail;
}

// The kernel copied what the rules say it pins (or the reverse): no cause is named, the
// check fails and says so.
TEST(UdpFallbackCause, BytesThatDisagreeNameNoCause) {
    Out o = compute(udp_cell(udp_spec(1024), veth_device(), 4 * MiB, 0));
    const auto& u = *o.result.ledger.udp_zerocopy_send;
    EXPECT_FALSE(u.cause);
    EXPECT_NE(u.cause.reason().find("no rule of __ip_append_data"), std::string::npos);
    EXPECT_TRUE(o.json["udp_zerocopy_send"]["cause"].contains("unsupported"));
    const Check* check = fallback_check(o);
    ASSERT_NE(check, nullptr);
    EXPECT_FALSE(check->passed);

    o = compute(udp_cell(udp_spec(1024, 0, true), veth_device(), 4 * MiB, 4 * MiB));
    EXPECT_FALSE(o.result.ledger.udp_zerocopy_send->cause);
    EXPECT_FALSE(fallback_check(o)->passed);
}

// What cannot be measured is unsupported with why, never a cause made up.
TEST(UdpFallbackCause, UnsupportedWithoutTheCounts) {
    LedgerInput in = udp_cell(udp_spec(4096), veth_device(), 4 * MiB, 0);
    in.tracer.reset();
    in.tracer_unavailable = "BPF refused";
    Out o = compute(in);
    const auto& u = *o.result.ledger.udp_zerocopy_send;
    EXPECT_EQ(u.rules, std::vector{UdpFallbackRule::above_mtu});
    EXPECT_FALSE(u.cause);
    EXPECT_NE(u.cause.reason().find("BPF refused"), std::string::npos) << u.cause.reason();
    EXPECT_EQ(fallback_check(o), nullptr);

    o = compute(udp_cell(udp_spec(4096), std::nullopt, 4 * MiB, 0));
    EXPECT_FALSE(o.result.ledger.udp_zerocopy_send->cause);
    EXPECT_TRUE(o.json["udp_zerocopy_send"]["device"].contains("unsupported"));
}

// Not a udp zero-copy cell: no section.
TEST(UdpFallbackCause, OnlyUdpZeroCopyCells) {
    LedgerInput in = udp_cell(udp_spec(4096), veth_device(), 4 * MiB, 0);
    in.strategy = Strategy::one_copy;
    EXPECT_FALSE(compute_ledger(in).ledger.udp_zerocopy_send.has_value());
}

} // namespace
} // namespace copyscope
