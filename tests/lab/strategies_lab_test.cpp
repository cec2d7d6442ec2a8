// Real bytes through real namespaces: every strategy moves an exact number of bytes over
// veth and loopback, every byte checked.
#include <gtest/gtest.h>

#include "lab/lab.h"
#include "runner/runner.h"
#include "support/system_probe.h"

using namespace copyscope;

namespace {

struct Case {
    Strategy strategy;
    Transport transport;
    uint64_t size;
    unsigned threads;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
    std::string n = std::string(to_string(info.param.strategy)) + "_" +
                    std::string(to_string(info.param.transport)) + "_" +
                    std::to_string(info.param.size) + "_x" + std::to_string(info.param.threads);
    for (char& c : n)
        if (c == '-') c = '_';
    return n;
}

class StrategyOverLab : public ::testing::TestWithParam<Case> {};

} // namespace

TEST_P(StrategyOverLab, MovesExactBytesWithVerifiedPayload) {
    COPYSCOPE_REQUIRE_ROOT();
    const Case& c = GetParam();
    // An odd size splits unevenly into fields and never lines up with the pattern.
    CellSpec spec;
    spec.strategy = c.strategy;
    spec.transport = c.transport;
    spec.message_size = c.size;
    spec.threads = c.threads;
    spec.verify_payload = true;
    const uint64_t messages = 301;
    spec.bytes = messages * c.size;
    CellResult r = run_cell(spec, {});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.app.messages_sent, messages);
    EXPECT_EQ(r.app.bytes_sent, messages * c.size);
    EXPECT_EQ(r.app.bytes_received, messages * c.size);
    EXPECT_EQ(r.app.payload_errors, 0u);
    // two-copy's staging memcpy, sendfile's fill of its file: the application's copies.
    const bool user_copy = c.strategy == Strategy::two_copy || c.strategy == Strategy::sendfile;
    EXPECT_EQ(r.app.user_copy_bytes, user_copy ? messages * c.size : 0u);
    if (c.strategy == Strategy::per_field) {
        EXPECT_GE(r.app.send_calls, 8 * messages);
    }
    if (c.strategy == Strategy::one_copy || c.strategy == Strategy::sendfile) {
        EXPECT_GE(r.app.send_calls, messages);
    }
    if (uses_io_uring(c.strategy)) {
        EXPECT_EQ(r.app.send_calls, 8 * messages); // one request a field, each sent whole
        ASSERT_TRUE(r.io_uring.has_value());
        EXPECT_EQ(r.io_uring->missing, 0u);
    }
    for (const Check& check : r.checks)
        EXPECT_TRUE(check.passed) << check.name << ": " << check.detail;
    if (c.strategy == Strategy::zero_copy) {
        ASSERT_TRUE(r.zerocopy.has_value());
        EXPECT_GE(r.zerocopy->sends, messages);
        EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
        EXPECT_EQ(r.zerocopy->missing, 0u);
    } else {
        EXPECT_FALSE(r.zerocopy.has_value());
    }
}

INSTANTIATE_TEST_SUITE_P(
    Lab, StrategyOverLab,
    ::testing::Values(Case{Strategy::two_copy, Transport::veth, 65537, 1},
                      Case{Strategy::per_field, Transport::veth, 65537, 1},
                      Case{Strategy::one_copy, Transport::veth, 65537, 2},
                      Case{Strategy::zero_copy, Transport::veth, 65537, 2},
                      Case{Strategy::two_copy, Transport::loopback, 1003, 2},
                      Case{Strategy::per_field, Transport::loopback, 1003, 1},
                      Case{Strategy::one_copy, Transport::loopback, 1003, 1},
                      Case{Strategy::zero_copy, Transport::loopback, 1003, 1},
                      Case{Strategy::zero_copy, Transport::veth, 8, 1},
                      Case{Strategy::one_copy, Transport::veth, 1 << 20, 1},
                      Case{Strategy::sendfile, Transport::veth, 65537, 2},
                      Case{Strategy::sendfile, Transport::loopback, 1003, 1},
                      Case{Strategy::io_uring, Transport::veth, 65537, 2},
                      Case{Strategy::io_uring_zc, Transport::loopback, 1003, 2},
                      Case{Strategy::io_uring_zc_fixed, Transport::veth, 65537, 2},
                      Case{Strategy::io_uring_zc_fixed, Transport::loopback, 8, 1}),
    case_name);

// Over veth the receiver is local: the kernel copies the pinned pages at delivery
// (skb_copy_ubufs) and says so in every completion.
TEST(ZeroCopyOverVeth, EveryCompletionArrivesFlaggedCopied) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec;
    spec.strategy = Strategy::zero_copy;
    spec.message_size = 65536;
    spec.bytes = 2000ull * 65536;
    CellResult r = run_cell(spec, {});
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_TRUE(r.zerocopy.has_value());
    EXPECT_EQ(r.app.bytes_received, 2000ull * 65536);
    EXPECT_GE(r.zerocopy->sends, 2000u);
    EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
    EXPECT_EQ(r.zerocopy->completions_copied, r.zerocopy->sends);
    EXPECT_GT(r.zerocopy->notifications, 0u);
    EXPECT_LE(r.zerocopy->notifications, r.zerocopy->sends);
}

TEST(Lab, VethNamespacesAreDistinctAndLoopbackIsOne) {
    COPYSCOPE_REQUIRE_ROOT();
    auto veth = Lab::create(Transport::veth);
    auto inodes = veth->namespace_inodes();
    ASSERT_EQ(inodes.size(), 2u);
    EXPECT_NE(inodes[0], inodes[1]);
    EXPECT_EQ(veth->receiver_address(), "198.18.0.2");
    auto lo = Lab::create(Transport::loopback);
    EXPECT_EQ(lo->namespace_inodes().size(), 1u);
    EXPECT_EQ(lo->receiver_address(), "127.0.0.1");
    // The veth pair lives only inside the lab.
    EXPECT_EQ(testsupport::veth_links_here(), 0);
    {
        NetnsGuard in(veth->sender_ns());
        EXPECT_EQ(testsupport::veth_links_here(), 1);
    }
}
