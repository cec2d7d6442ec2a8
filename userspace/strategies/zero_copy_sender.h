#pragma once
// zero-copy: SO_ZEROCOPY on the socket, sendmsg(MSG_ZEROCOPY) over the fields, completions
// read from the error queue. The kernel may still read a buffer until its completion
// arrives, so the sender keeps a ring of messages and never hands out a slot whose sends
// have not all completed.
#include <vector>

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

    // Ring size for a message size: enough in flight to keep the link busy, bounded memory.
    static size_t ring_slots(size_t message_size);

  private:
    struct Slot {
        Message message;
        uint64_t seq_begin = 0; // sequence numbers of the sends made from this slot
        uint64_t seq_end = 0;
    };
    bool slot_free(const Slot& slot) const;
    // Reads every notification queued now; returns the number of sends newly completed.
    uint64_t drain_error_queue();
    // Waits up to timeout_ms for notifications and drains them.
    uint64_t wait_for_completions(int timeout_ms);

    int fd_;
    int completion_timeout_ms_;
    std::vector<Slot> ring_;
    size_t current_ = 0;
    CompletionTracker tracker_;
    ZerocopyStats stats_;
};

} // namespace copyscope
