#pragma once
// zero-copy: SO_ZEROCOPY on the socket, sendmsg(MSG_ZEROCOPY) over the fields, completions
// read from the error queue. The kernel may still read a buffer until its completion
// arrives, so the sender keeps a ring of messages (strategies/buffer_ring.h) and never hands
// out a slot whose sends have not all completed.
#include "strategies/buffer_ring.h"
#include "strategies/completion.h"
#include "strategies/sender.h"

namespace copyscope {

class ZeroCopySender final : public MessageSender {
  public:
    explicit ZeroCopySender(const SenderOptions& options);
    Message& next_message() override;
    void send() override;
    void finish() override;
    std::optional<ZerocopyStats> zerocopy() const override { return stats_; }

    // Slots the ring holds now (it grows with what is in flight).
    size_t ring_slots() const { return ring_.slots(); }

  private:
    // How many bytes the ring may hold: what can be in flight on the socket now.
    uint64_t in_flight_limit();
    // Reads every notification queued now; returns the number of sends newly completed.
    uint64_t drain_error_queue();
    // Waits up to timeout_ms for notifications and drains them.
    uint64_t wait_for_completions(int timeout_ms);

    int fd_;
    int completion_timeout_ms_;
    size_t message_size_;
    const DatagramPlan* datagrams_; // udp; null for TCP
    uint64_t limit_ = 0;            // in_flight_limit() as last read
    BufferRing ring_;
    CompletionTracker tracker_;
    ZerocopyStats stats_;
};

} // namespace copyscope
