// MSG_ZEROCOPY completion ranges: inclusive [lo, hi], coalesced, 32-bit ids that wrap.
#include <gtest/gtest.h>

#include "strategies/completion.h"

using copyscope::CompletionTracker;

TEST(Completion, InOrderRanges) {
    CompletionTracker t;
    for (int i = 0; i < 10; ++i) t.record_send();
    EXPECT_EQ(t.outstanding(), 10u);
    EXPECT_EQ(t.complete(0, 0), 1u);
    EXPECT_EQ(t.complete(1, 4), 4u); // inclusive
    EXPECT_EQ(t.watermark(), 5u);
    EXPECT_TRUE(t.is_complete(4));
    EXPECT_FALSE(t.is_complete(5));
    EXPECT_EQ(t.complete(5, 9), 5u);
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(Completion, OutOfOrderRangesFillTheGap) {
    CompletionTracker t;
    for (int i = 0; i < 10; ++i) t.record_send();
    EXPECT_EQ(t.complete(6, 9), 4u);
    EXPECT_EQ(t.watermark(), 0u);
    EXPECT_TRUE(t.is_complete(7));
    EXPECT_FALSE(t.is_complete(3));
    EXPECT_EQ(t.complete(0, 5), 6u);
    EXPECT_EQ(t.watermark(), 10u);
    EXPECT_EQ(t.completed(), 10u);
}

TEST(Completion, RepeatsAndRangesBeyondSendsAreNotCounted) {
    CompletionTracker t;
    for (int i = 0; i < 4; ++i) t.record_send();
    EXPECT_EQ(t.complete(0, 1), 2u);
    EXPECT_EQ(t.complete(0, 1), 0u);
    EXPECT_EQ(t.complete(2, 100), 2u); // only ids we sent
    EXPECT_EQ(t.completed(), 4u);
}

TEST(Completion, WrapsAroundThe32BitCounter) {
    // The socket's counter is at 2^32 - 3: ids go ..., 0xfffffffd, 0xfffffffe, 0xffffffff, 0, 1.
    CompletionTracker t(0xfffffffdu);
    for (int i = 0; i < 6; ++i) t.record_send();
    EXPECT_EQ(t.complete(0xfffffffdu, 0xfffffffeu), 2u);
    EXPECT_EQ(t.complete(0xffffffffu, 1u), 3u); // a range across the wrap: 3 sends
    EXPECT_EQ(t.watermark(), 5u);
    EXPECT_EQ(t.complete(2u, 2u), 1u);
    EXPECT_EQ(t.outstanding(), 0u);
}

TEST(Completion, WrapWithOutOfOrderRanges) {
    CompletionTracker t(0xfffffffeu);
    for (int i = 0; i < 5; ++i) t.record_send(); // ids fffffffe ffffffff 0 1 2
    EXPECT_EQ(t.complete(1u, 2u), 2u);
    EXPECT_FALSE(t.is_complete(0));
    EXPECT_TRUE(t.is_complete(3));
    EXPECT_EQ(t.complete(0xfffffffeu, 0u), 3u);
    EXPECT_EQ(t.watermark(), 5u);
}
