// The copy ledger of sendfile and the io_uring strategies on this machine's kernel, on real
// cells in real labs (root: namespaces, veth, BPF), every payload byte verified.
#include <sys/utsname.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include <gtest/gtest.h>

#include "report/ledger_json.h"
#include "runner/runner.h"
#include "strategies/io_uring_support.h"
#include "strategies/message.h"
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

// Notification stacking (io_link_skb) is in 6.10 and later.
bool kernel_stacks_notifications() {
    struct utsname u {};
    if (uname(&u) != 0) return false;
    int major = 0, minor = 0;
    if (std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
    return major > 6 || (major == 6 && minor >= 10);
}

std::string io_uring_refusal(Strategy s) {
    try {
        check_io_uring_usable({s});
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

struct PathCase {
    Strategy strategy;
    Transport transport;
    uint64_t size;
};

std::string case_name(const ::testing::TestParamInfo<PathCase>& info) {
    std::string s = std::string(to_string(info.param.strategy)) + "_" +
                    std::string(to_string(info.param.transport)) + "_" +
                    std::to_string(info.param.size);
    for (auto& c : s)
        if (c == '-') c = '_';
    return s;
}

class PathsLab : public ::testing::TestWithParam<PathCase> {
  protected:
    static void SetUpTestSuite() {
        if (!testsupport::running_as_root()) return;
        tracer_ = make_tracer({HookMode::automatic}).release();
    }
    static void TearDownTestSuite() {
        delete tracer_;
        tracer_ = nullptr;
    }
    static CellObserver* tracer_;
};
CellObserver* PathsLab::tracer_ = nullptr;

// What the ledger must say of sendfile: every byte spliced (page-cache pages by reference),
// no send copy and no deferred one; the fill of the file and the receive copy are the copies.
void expect_sendfile(const CellResult& r, const nlohmann::json& L) {
    EXPECT_EQ(u64(L, "spliced_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), 0u);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), 0u);
    EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
    EXPECT_EQ(u64(L, "user_copy_bytes"), r.app.bytes_sent);
    for (const auto& [role, n] : L["by_namespace"].items()) // no copy at send: SG on the route
        EXPECT_EQ(u64(n["raw"], "splice_copied_bytes"), 0u) << role;
    ASSERT_TRUE(r.sendfile.has_value());
    EXPECT_EQ(r.sendfile->file_bytes_written, r.app.bytes_sent);
    EXPECT_EQ(r.sendfile->ranges_released, r.app.messages_sent - 1);
    const std::string verdict = L["verdict"].get<std::string>();
    EXPECT_NE(verdict.find("by reference"), std::string::npos) << verdict;
    EXPECT_NE(verdict.find("100%"), std::string::npos) << verdict;
}

// io_uring SEND_ZC, local delivery: every byte by reference (pinned per request, or
// registered), every notification flagged COPIED and the bytes copied at delivery.
void expect_send_zc(const CellResult& r, const nlohmann::json& L, bool fixed) {
    const uint64_t sent = r.app.bytes_sent;
    EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), 0u);
    EXPECT_EQ(u64(L, "zerocopy_fallback_bytes"), 0u);
    EXPECT_EQ(u64(L, "registered_bytes"), fixed ? sent : 0u);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), fixed ? 0u : sent);
    const uint64_t deferred = u64(L, "deferred_copy_bytes");
    const uint64_t retrans = u64(L, "retransmit_bytes");
    EXPECT_LE(std::fabs(double(deferred) - double(sent)), 0.01 * sent + retrans) << deferred;
    ASSERT_TRUE(r.io_uring.has_value());
    const IoUringStats& u = *r.io_uring;
    EXPECT_EQ(u.requests, r.app.messages_sent * kFieldsPerMessage);
    EXPECT_EQ(u.notifications, u.requests);
    EXPECT_EQ(u.notifications_copied, u.notifications);
    EXPECT_EQ(u.missing, 0u);
    EXPECT_EQ(u.registered_buffers > 0, fixed);
    const auto& k = L["io_uring_notifications"]["kernel"];
    EXPECT_EQ(u64(k, "posted"), u.notifications);
    EXPECT_EQ(u64(k, "posted_copied"), u.notifications_copied);
    const std::string verdict = L["verdict"].get<std::string>();
    EXPECT_NE(verdict.find("not effective"), std::string::npos) << verdict;
}

TEST_P(PathsLab, LedgerHoldsWithVerifiedPayload) {
    COPYSCOPE_REQUIRE_ROOT();
    const PathCase c = GetParam();
    if (uses_io_uring(c.strategy))
        if (auto why = io_uring_refusal(c.strategy); !why.empty()) GTEST_SKIP() << why;
    CellSpec spec;
    spec.strategy = c.strategy;
    spec.transport = c.transport;
    spec.message_size = c.size;
    spec.verify_payload = true;
    spec.bytes = c.size >= 65536 ? 32 * MiB : 4 * MiB;
    CellResult r = run_cell(spec, {tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.app.bytes_received, r.app.bytes_sent);
    EXPECT_EQ(r.app.payload_errors, 0u);
    ASSERT_TRUE(r.ledger.has_value());
    const nlohmann::json L = to_json(*r.ledger);
    ASSERT_TRUE(L["tracer"]["available"].get<bool>()) << L["tracer"].dump();
    EXPECT_EQ(failed_checks(r), "");
    EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.bytes_received);
    // On one host every path here costs 2 copies a byte, for different reasons.
    EXPECT_NEAR(L["copies_per_byte"].get<double>(), 2.0, 0.02);
    EXPECT_TRUE(L["copy_model"].is_string());
    switch (c.strategy) {
    case Strategy::sendfile:
        expect_sendfile(r, L);
        break;
    case Strategy::io_uring:
        EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), r.app.bytes_sent);
        EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
        ASSERT_TRUE(r.io_uring.has_value());
        EXPECT_EQ(r.io_uring->requests, r.app.messages_sent * kFieldsPerMessage);
        EXPECT_EQ(r.io_uring->notifications, 0u);
        EXPECT_TRUE(L["verdict"].is_null());
        break;
    case Strategy::io_uring_zc:
    case Strategy::io_uring_zc_fixed:
        expect_send_zc(r, L, c.strategy == Strategy::io_uring_zc_fixed);
        break;
    default:
        FAIL() << "not a send path";
    }
}

// Notification stacking (6.10+) on veth: small fields join the tail skb of an earlier
// request, which owns it; those requests are flagged COPIED with no skb of their own. Every
// skb is copied at local delivery here, so every other notification is flagged too (its own
// zc_copied) and the check that leaves the stacked ones out still holds.
TEST(PathsStacking, StackedNotificationsAreToldApartOnVeth) {
    COPYSCOPE_REQUIRE_ROOT();
    if (auto why = io_uring_refusal(Strategy::io_uring_zc); !why.empty()) GTEST_SKIP() << why;
    auto tracer = make_tracer({HookMode::automatic});
    CellSpec spec;
    spec.strategy = Strategy::io_uring_zc;
    spec.transport = Transport::veth;
    spec.message_size = 1003; // fields of 125 B: many requests per skb
    spec.verify_payload = true;
    spec.bytes = 2 * MiB;
    CellResult r = run_cell(spec, {tracer.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.app.payload_errors, 0u);
    ASSERT_TRUE(r.ledger.has_value());
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = to_json(*r.ledger);
    ASSERT_TRUE(r.io_uring.has_value());
    const IoUringStats& u = *r.io_uring;
    const auto& fig = L["io_uring_notifications"]["flagged_copied_stacked"];
    ASSERT_FALSE(fig.contains("unsupported")) << fig.dump();
    EXPECT_EQ(fig["count"], "exact");
    const uint64_t stacked = u64(fig, "notifications");
    EXPECT_EQ(u64(fig, "classified"), u.notifications);
    EXPECT_EQ(u64(fig, "classified_copied"), u.notifications_copied);
    const auto& raw = L["by_namespace"]["sender"]["raw"];
    if (!kernel_stacks_notifications()) {
        EXPECT_EQ(stacked, 0u) << "no io_link_skb before 6.10";
        return;
    }
    EXPECT_GT(stacked, 0u);
    EXPECT_LT(stacked, u.notifications); // the owners of the skbs are not stacked
    EXPECT_GT(u64(fig, "bytes"), 0u);
    EXPECT_LT(u64(fig, "bytes"), r.app.bytes_sent);
    // Every skb was copied at delivery: every notification not stacked is flagged by that
    // copy of its own skb (zc_copied), and only those.
    EXPECT_EQ(u.notifications_copied - stacked, u.notifications - stacked);
    EXPECT_EQ(u.notifications_copied - stacked, u64(raw, "uring_notifs_classified_zc_copied"));
    EXPECT_EQ(u64(raw, "uring_notifs_stacked"), stacked);
    const uint64_t deferred = u64(L, "deferred_copy_bytes");
    EXPECT_LE(std::fabs(double(deferred) - double(r.app.bytes_sent)),
              0.01 * r.app.bytes_sent + u64(L, "retransmit_bytes"));
    std::cout << "stacked " << stacked << " of " << u.notifications << " notifications ("
              << u.notifications_copied << " COPIED, "
              << u64(raw, "uring_notifs_classified_zc_copied") << " with zc_copied), "
              << u64(fig, "bytes") << " of " << r.app.bytes_sent << " bytes\n";
}

std::vector<PathCase> cases() {
    std::vector<PathCase> v;
    for (Strategy s : path_strategies)
        for (Transport t : {Transport::veth, Transport::loopback})
            for (uint64_t size : {uint64_t{4096}, uint64_t{65536 + 7}})
                v.push_back({s, t, size});
    return v;
}

INSTANTIATE_TEST_SUITE_P(Paths, PathsLab, ::testing::ValuesIn(cases()), case_name);

} // namespace
} // namespace copyscope
