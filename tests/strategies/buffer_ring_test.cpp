// The zero-copy buffer ring: a buffer is never handed out again before every send made from
// it has completed, and the ring grows only while it holds less than what can be in flight.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "strategies/buffer_ring.h"

using namespace copyscope;

namespace {

// Hands out a buffer as the sender does: the oldest if free, else a new one if the limit
// allows; nullptr when the sender would have to wait for completions.
Message* acquire(BufferRing& ring, const CompletionTracker& tracker, uint64_t limit) {
    if (Message* m = ring.next_free(tracker)) return m;
    return ring.grow(limit);
}

} // namespace

TEST(BufferRing, NeverHandsOutABufferBeforeItsSendsCompleted) {
    const size_t size = 1000;
    const uint64_t limit = 10 * size;
    BufferRing ring(size);
    CompletionTracker tracker(0xfffffff0u); // ids wrap around 2^32 on the way
    std::mt19937 rng(7);
    std::map<const Message*, std::vector<uint64_t>> sends_from; // buffer -> its last sends
    std::set<const Message*> buffers;
    uint64_t next_to_complete = 0, handed_out = 0, waits = 0;
    while (handed_out < 20000) {
        Message* m = acquire(ring, tracker, limit);
        if (!m) {
            // Wait: the kernel completes a few sends, in order, sometimes not yet the oldest.
            ++waits;
            uint64_t upto = std::min(tracker.sent(), next_to_complete + rng() % 4);
            if (upto > next_to_complete) {
                tracker.complete(uint32_t(0xfffffff0u + next_to_complete),
                                 uint32_t(0xfffffff0u + upto - 1));
                next_to_complete = upto;
            }
            continue;
        }
        for (uint64_t seq : sends_from[m])
            ASSERT_TRUE(tracker.is_complete(seq)) << "buffer reused before send " << seq;
        buffers.insert(m);
        ++handed_out;
        // One message, sent in one to three calls (partial sends).
        const uint64_t first = tracker.sent();
        for (unsigned calls = 1 + rng() % 3; calls > 0; --calls)
            tracker.record_send();
        ring.sent(first, tracker.sent());
        sends_from[m].assign({});
        for (uint64_t s = first; s < tracker.sent(); ++s)
            sends_from[m].push_back(s);
    }
    EXPECT_GT(waits, 0u);                    // the limit was reached and held
    EXPECT_LE(ring.slots(), limit / size);   // never more buffers than the limit holds
    EXPECT_EQ(buffers.size(), ring.slots()); // every buffer came from the ring
}

TEST(BufferRing, GrowsOnlyWhileUnderTheLimit) {
    BufferRing ring(4096);
    CompletionTracker tracker;
    EXPECT_EQ(ring.next_free(tracker), nullptr); // empty until grown
    // Nothing completes: each message needs a new buffer until the limit.
    for (int i = 0; i < 3; ++i) {
        ASSERT_NE(acquire(ring, tracker, 3 * 4096), nullptr) << i;
        tracker.record_send();
        ring.sent(tracker.sent() - 1, tracker.sent());
    }
    EXPECT_EQ(ring.slots(), 3u);
    EXPECT_EQ(acquire(ring, tracker, 3 * 4096), nullptr);
    EXPECT_EQ(ring.bytes(), 3u * 4096);
    // A larger limit (the send buffer grew) lets it grow again.
    EXPECT_NE(acquire(ring, tracker, 4 * 4096), nullptr);
    EXPECT_EQ(ring.slots(), 4u);
}

TEST(BufferRing, AlwaysHasOneBufferEvenBelowOneMessage) {
    BufferRing ring(1 << 20);
    CompletionTracker tracker;
    EXPECT_NE(ring.grow(1000), nullptr);
    EXPECT_EQ(ring.grow(1000), nullptr);
    EXPECT_EQ(ring.slots(), 1u);
}

TEST(BufferRing, AGrownBufferComesBeforeTheOldestSoBuffersKeepTheirOrder) {
    BufferRing ring(64);
    CompletionTracker tracker;
    std::vector<Message*> order;
    for (int i = 0; i < 2; ++i) {
        order.push_back(acquire(ring, tracker, 1 << 20));
        tracker.record_send();
        ring.sent(tracker.sent() - 1, tracker.sent());
    }
    ASSERT_EQ(ring.slots(), 2u);
    // Send 0 completes: the oldest buffer is handed out again, then the other one waits.
    tracker.complete(0, 0);
    EXPECT_EQ(ring.next_free(tracker), order[0]);
    tracker.record_send();
    ring.sent(tracker.sent() - 1, tracker.sent());
    EXPECT_EQ(ring.next_free(tracker), nullptr); // order[1] (send 1) still in flight
    Message* grown = ring.grow(1 << 20);
    ASSERT_NE(grown, nullptr);
    tracker.record_send();
    ring.sent(tracker.sent() - 1, tracker.sent());
    // After the grown buffer, the oldest one is next: order[1], once send 1 completes.
    EXPECT_EQ(ring.next_free(tracker), nullptr);
    tracker.complete(1, 1);
    EXPECT_EQ(ring.next_free(tracker), order[1]);
}

TEST(BufferRing, InFlightLimitIsTheSendBufferAndTwoMessages) {
    EXPECT_EQ(zero_copy_in_flight_limit(4u << 20, 65536), (4u << 20) + 2u * 65536);
    EXPECT_EQ(zero_copy_in_flight_limit(0, 64), 128u);
}
