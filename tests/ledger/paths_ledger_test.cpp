// The ledger of sendfile and the io_uring strategies on synthetic numbers: their copy
// model, the spliced and registered byte figures, the usage-flag checks and the verdicts.
#include <gtest/gtest.h>

#include "ledger/copy_model.h"
#include "ledger/ledger.h"
#include "report/ledger_json.h"

namespace copyscope {
namespace {

constexpr uint64_t MiB = 1 << 20;

HookUse use(const char* hook, HookMechanism m, std::vector<std::string> targets) {
    return HookUse{hook,
                   Measured<HookChoice>(HookChoice{m, std::move(targets), ""}, Evidence::exact)};
}

std::vector<HookUse> hooks() {
    using enum HookMechanism;
    return {
        use(hook_send, tp_btf, {"tcp_sendmsg_locked", "sock_send_length"}),
        use(hook_pinned_pages, tp_btf, {"net_dev_start_xmit"}),
        use(hook_deferred, inferred, {"netif_receive_skb", "net_dev_start_xmit"}),
        use(hook_receive, tp_btf, {"skb_copy_datagram_iovec"}),
        use(hook_retransmits, tp_btf, {"tcp_retransmit_skb"}),
        use(hook_completions, userspace, {"MSG_ERRQUEUE"}),
        use(hook_splice, tp_btf, {"tcp_sendmsg_locked", "sock_send_length"}),
        use(hook_io_uring_notifications, tp_btf, {"tcp_sendmsg_locked", "io_uring_complete"}),
        use(hook_io_uring_stacked, tp_btf, {"io_uring_complete"}),
    };
}

struct Out {
    nlohmann::json ledger;
    std::vector<Check> checks;
};

Out compute(const LedgerInput& in) {
    LedgerResult r = compute_ledger(in);
    nlohmann::json j = to_json(r.ledger);
    CellSpec spec;
    spec.strategy = in.strategy;
    spec.transport = in.transport;
    EXPECT_EQ(ledger_from_json(JsonIn(j, "ledger"), spec), r.ledger) << j.dump(2);
    return {std::move(j), std::move(r.checks)};
}

const Check* find_check(const Out& r, const std::string& prefix) {
    for (const auto& c : r.checks)
        if (c.name.rfind(prefix, 0) == 0) return &c;
    return nullptr;
}

void expect_all_passed(const Out& r) {
    for (const auto& c : r.checks)
        EXPECT_TRUE(c.passed) << c.name << ": " << c.detail;
}

LedgerInput veth(Strategy s, uint64_t bytes) {
    LedgerInput in;
    in.strategy = s;
    in.transport = Transport::veth;
    in.app.bytes_sent = in.app.bytes_received = bytes;
    TracerView tv;
    tv.hooks = hooks();
    tv.sender_ns = 4026532001;
    tv.receiver_ns = 4026532002;
    tv.receiver.recv_bytes = bytes;
    tv.sender.send_bytes = bytes;
    in.tracer = tv;
    return in;
}

// sendfile over veth as this kernel counts it: the file filled through its mapping (the
// application's copy), every byte spliced, the receive copy.
LedgerInput sendfile_cell(uint64_t bytes) {
    LedgerInput in = veth(Strategy::sendfile, bytes);
    in.app.user_copy_bytes = bytes;
    in.tracer->sender.splice_calls = bytes / 65536;
    in.tracer->sender.splice_bytes = bytes;
    return in;
}

// io_uring SEND_ZC over veth: every byte by reference, every request flagged COPIED and
// copied at local delivery.
LedgerInput send_zc_cell(Strategy s, uint64_t bytes, uint64_t requests) {
    LedgerInput in = veth(s, bytes);
    if (s == Strategy::io_uring_zc_fixed)
        in.tracer->sender.reg_zc_bytes = bytes;
    else
        in.tracer->sender.zc_pinned_bytes = bytes;
    in.tracer->sender.xmit_zc_pages = bytes / 4096;
    in.tracer->receiver.rx_zc_bytes = bytes;
    in.tracer->sender.uring_notifs = in.tracer->sender.uring_notifs_copied = requests;
    in.tracer->sender.uring_notifs_classified = requests;
    in.tracer->sender.uring_notifs_classified_copied = requests;
    IoUringStats u;
    u.requests = u.cqes_more = u.notifications = u.notifications_copied = requests;
    u.cqes = 2 * requests;
    u.copied_request_bytes = bytes;
    in.io_uring = u;
    return in;
}

TEST(PathsLedger, SendfileIsTheFillAndTheReceiveCopy) {
    auto r = compute(sendfile_cell(64 * MiB));
    expect_all_passed(r);
    EXPECT_EQ(r.ledger["spliced_bytes"], 64 * MiB);
    EXPECT_EQ(r.ledger["kernel_send_copy_bytes"], 0);
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte"].get<double>(), 2.0);
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte_expected"].get<double>(), 2.0);
    const std::string verdict = r.ledger["verdict"];
    EXPECT_NE(verdict.find("by reference on veth for 100%"), std::string::npos) << verdict;
    EXPECT_NE(r.ledger["copy_model"].get<std::string>().find("no send copy"), std::string::npos);
    const Check* sum = find_check(r, "ledger: send copy + pinned");
    ASSERT_NE(sum, nullptr);
    EXPECT_NE(sum->detail.find("spliced 67108864 B"), std::string::npos) << sum->detail;
}

TEST(PathsLedger, SendfileBytesCountedAsCopiesFailTheModel) {
    // The send hook counting the spliced bytes as a copy (as before MSG_SPLICE_PAGES was
    // told apart) makes 3 copies a byte where the model says 2.
    LedgerInput in = sendfile_cell(8 * MiB);
    in.tracer->sender.splice_bytes = 0;
    in.tracer->sender.send_copy_bytes = 8 * MiB;
    auto r = compute(in);
    const Check* model = find_check(r, "ledger: copies per byte matches");
    ASSERT_NE(model, nullptr);
    EXPECT_FALSE(model->passed) << model->detail;
}

TEST(PathsLedger, SendfileWithoutItsHookSkipsTheSum) {
    LedgerInput in = sendfile_cell(8 * MiB);
    in.tracer->hooks.resize(in.tracer->hooks.size() - 3); // splice and the io_uring hooks
    in.tracer->hooks.push_back(
        {hook_splice, Measured<HookChoice>(Unsupported{"do_tcp_sendpages: no fexit here"})});
    auto r = compute(in);
    EXPECT_EQ(find_check(r, "ledger: send copy + pinned"), nullptr);
    EXPECT_TRUE(r.ledger["spliced_bytes"].contains("unsupported"));
    const std::string verdict = r.ledger["verdict"];
    EXPECT_NE(verdict.find("unknown"), std::string::npos) << verdict;
}

TEST(PathsLedger, SendZcOnVethIsCopiedAtDelivery) {
    for (Strategy s : {Strategy::io_uring_zc, Strategy::io_uring_zc_fixed}) {
        auto r = compute(send_zc_cell(s, 16 * MiB, 2048));
        expect_all_passed(r);
        EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte"].get<double>(), 2.0);
        EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte_expected"].get<double>(), 2.0);
        EXPECT_EQ(r.ledger["registered_bytes"], s == Strategy::io_uring_zc_fixed ? 16 * MiB : 0);
        EXPECT_EQ(r.ledger["zerocopy_pinned_bytes"],
                  s == Strategy::io_uring_zc_fixed ? 0 : 16 * MiB);
        EXPECT_NEAR(r.ledger["deferred_copy_percent"].get<double>(), 100.0, 0.01);
        const std::string verdict = r.ledger["verdict"];
        EXPECT_NE(verdict.find("not effective on veth"), std::string::npos) << verdict;
        EXPECT_NE(verdict.find("2048 of 2048 notifications flagged"), std::string::npos);
        const Check* kernel = find_check(r, "ledger: kernel io_uring notifications");
        ASSERT_NE(kernel, nullptr);
        EXPECT_TRUE(kernel->passed);
        EXPECT_EQ(r.ledger["io_uring_notifications"]["kernel"]["posted_copied"], 2048);
    }
}

TEST(PathsLedger, UsageFlagsThatDenyTheDeferredCopyFail) {
    LedgerInput in = send_zc_cell(Strategy::io_uring_zc, 16 * MiB, 2048);
    in.io_uring->notifications_copied = 0;
    in.io_uring->copied_request_bytes = 0;
    in.tracer->sender.uring_notifs_copied = 0;
    auto r = compute(in);
    const Check* flags = find_check(r, "ledger: deferred copy agrees with io_uring usage flags");
    ASSERT_NE(flags, nullptr);
    EXPECT_FALSE(flags->passed) << flags->detail;
    // The model follows the flags: 1 copy a byte, where 2 were counted.
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte_expected"].get<double>(), 1.0);
}

TEST(PathsLedger, KernelNotificationsMustMatchTheSenders) {
    LedgerInput in = send_zc_cell(Strategy::io_uring_zc, 16 * MiB, 2048);
    in.tracer->sender.uring_notifs = 2047;
    auto r = compute(in);
    const Check* kernel = find_check(r, "ledger: kernel io_uring notifications");
    ASSERT_NE(kernel, nullptr);
    EXPECT_FALSE(kernel->passed);
    EXPECT_NE(kernel->detail.find("kernel posted 2047"), std::string::npos) << kernel->detail;
}

// A SEND_ZC cell whose bytes nobody copied (a device that keeps the pages, as virtio-net),
// where stacking (6.10+) flagged `stacked` of the notifications COPIED all the same.
LedgerInput stacked_uncopied_cell(uint64_t requests, uint64_t stacked) {
    const uint64_t field = 8192;
    LedgerInput in = send_zc_cell(Strategy::io_uring_zc, requests * field, requests);
    in.tracer->receiver.rx_zc_bytes = 0;
    in.io_uring->notifications_copied = stacked;
    in.io_uring->copied_request_bytes = stacked * field;
    in.tracer->sender.uring_notifs_copied = stacked;
    in.tracer->sender.uring_notifs_classified_copied = stacked;
    in.tracer->sender.uring_notifs_stacked = stacked;
    in.tracer->sender.uring_notifs_stacked_bytes = stacked * field;
    return in;
}

const char* usage_check = "ledger: deferred copy agrees with io_uring usage flags";

TEST(PathsLedger, StackedNotificationsAreLeftOutOfTheUsageFlags) {
    auto r = compute(stacked_uncopied_cell(2048, 1618));
    const Check* flags = find_check(r, usage_check);
    ASSERT_NE(flags, nullptr);
    EXPECT_TRUE(flags->passed) << flags->detail;
    EXPECT_NE(flags->detail.find("1618 flagged COPIED because stacked (no skb of its own, "
                                 "nothing copied; Linux 6.10+) (exact), left out: 0 of 430 "
                                 "COPIED; none COPIED"),
              std::string::npos)
        << flags->detail;
    const auto& fig = r.ledger["io_uring_notifications"]["flagged_copied_stacked"];
    EXPECT_EQ(fig["notifications"], 1618);
    EXPECT_EQ(fig["bytes"], 1618 * 8192);
    EXPECT_EQ(fig["classified"], 2048);
    EXPECT_EQ(fig["count"], "exact");
    EXPECT_EQ(fig["what"], stacked_notifications_what);
    const std::string verdict = r.ledger["verdict"];
    EXPECT_NE(verdict.find("1618 of 2048 notifications flagged IORING_NOTIF_USAGE_ZC_COPIED "
                           "(1618 of them only because stacked"),
              std::string::npos)
        << verdict;
    // The model takes the stacked requests' bytes out: nothing copied but the receive.
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte_expected"].get<double>(), 1.0);
    const Check* model = find_check(r, "ledger: copies per byte matches");
    ASSERT_NE(model, nullptr);
    EXPECT_TRUE(model->passed) << model->detail;
}

TEST(PathsLedger, StackedButSomeOwnersCopiedIsSomeCopied) {
    LedgerInput in = stacked_uncopied_cell(2048, 1618);
    in.io_uring->notifications_copied = in.tracer->sender.uring_notifs_copied =
        in.tracer->sender.uring_notifs_classified_copied = 1700;
    in.tracer->receiver.rx_zc_bytes = 82 * 8192;
    auto r = compute(in);
    const Check* flags = find_check(r, usage_check);
    ASSERT_NE(flags, nullptr);
    EXPECT_TRUE(flags->passed) << flags->detail;
    EXPECT_NE(flags->detail.find("left out: 82 of 430 COPIED; some COPIED"), std::string::npos)
        << flags->detail;
}

TEST(PathsLedger, WithoutTheStackedFigureTheFlagsDisagree) {
    // The 7.3 nic cell before stacking was told apart: 1618 of 2048 COPIED, no copy.
    LedgerInput in = stacked_uncopied_cell(2048, 1618);
    in.tracer->hooks.pop_back();
    auto r = compute(in);
    const Check* flags = find_check(r, usage_check);
    ASSERT_NE(flags, nullptr);
    EXPECT_FALSE(flags->passed) << flags->detail;
    const auto& fig = r.ledger["io_uring_notifications"]["flagged_copied_stacked"];
    EXPECT_EQ(fig["unsupported"], "hook io_uring_stacked not planned") << fig.dump();
    EXPECT_NE(flags->detail.find("unsupported (hook io_uring_stacked not planned)"),
              std::string::npos)
        << flags->detail;
}

TEST(PathsLedger, UnclassifiedNotificationsMakeTheFigureUnsupported) {
    // CQ overflow: the kernel posts 48 notifications with no request, which cannot be told.
    LedgerInput in = stacked_uncopied_cell(2048, 1618);
    in.tracer->sender.uring_notifs_classified = 2000;
    auto r = compute(in);
    const auto& fig = r.ledger["io_uring_notifications"]["flagged_copied_stacked"];
    ASSERT_TRUE(fig.contains("unsupported")) << fig.dump();
    EXPECT_NE(fig["unsupported"].get<std::string>().find("48 of 2048 notifications unclassified"),
              std::string::npos)
        << fig.dump();
    const Check* flags = find_check(r, usage_check);
    ASSERT_NE(flags, nullptr);
    EXPECT_FALSE(flags->passed) << flags->detail;
}

TEST(PathsLedger, NothingStackedIsAnExactZero) {
    // Before 6.10 (io_notif_data without head) no notification can be linked.
    auto r = compute(send_zc_cell(Strategy::io_uring_zc, 16 * MiB, 2048));
    expect_all_passed(r);
    const auto& fig = r.ledger["io_uring_notifications"]["flagged_copied_stacked"];
    EXPECT_EQ(fig["notifications"], 0);
    EXPECT_EQ(fig["count"], "exact");
}

TEST(PathsLedger, StackedOnVethAreCopiedWithTheirOwners) {
    LedgerInput in = send_zc_cell(Strategy::io_uring_zc, 16 * MiB, 2048);
    in.tracer->sender.uring_notifs_stacked = 1500;
    in.tracer->sender.uring_notifs_stacked_bytes = 1500 * 8192;
    auto r = compute(in);
    expect_all_passed(r);
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte_expected"].get<double>(), 2.0);
    const Check* flags = find_check(r, usage_check);
    ASSERT_NE(flags, nullptr);
    EXPECT_NE(flags->detail.find("left out: 548 of 548 COPIED; all COPIED"), std::string::npos)
        << flags->detail;
}

TEST(PathsLedger, CopyingIoUringIsOneSendCopy) {
    LedgerInput in = veth(Strategy::io_uring, 4 * MiB);
    in.tracer->sender.send_copy_bytes = 4 * MiB;
    IoUringStats u;
    u.requests = u.cqes = 512;
    in.io_uring = u;
    auto r = compute(in);
    expect_all_passed(r);
    EXPECT_DOUBLE_EQ(r.ledger["copies_per_byte"].get<double>(), 2.0);
    EXPECT_TRUE(r.ledger["verdict"].is_null());
    EXPECT_EQ(find_check(r, "ledger: deferred copy agrees with io_uring"), nullptr);
}

TEST(PathsCopyModel, PerStrategy) {
    AppCounts app;
    app.bytes_sent = 1000;
    app.user_copy_bytes = 1000;
    EXPECT_DOUBLE_EQ(*expected_copies_per_byte(Strategy::sendfile, app, std::nullopt), 2.0);
    EXPECT_DOUBLE_EQ(*expected_copies_per_byte(Strategy::sendfile, app, std::nullopt, false), 1.0);
    app.user_copy_bytes = 0;
    EXPECT_DOUBLE_EQ(*expected_copies_per_byte(Strategy::io_uring, app, std::nullopt), 2.0);
    EXPECT_FALSE(expected_copies_per_byte(Strategy::io_uring_zc, app, std::nullopt));
    IoUringStats u;
    u.notifications = 10;
    u.notifications_copied = 1;
    u.copied_request_bytes = 250;
    EXPECT_DOUBLE_EQ(*expected_copies_per_byte(Strategy::io_uring_zc, app, std::nullopt, true, false, u),
                     1.25);
    EXPECT_DOUBLE_EQ(
        *expected_copies_per_byte(Strategy::io_uring_zc_fixed, app, std::nullopt, false, false, u), 0.25);
    for (Strategy s : all_strategies)
        EXPECT_NE(copy_model_words(s), "?");
}

} // namespace
} // namespace copyscope
