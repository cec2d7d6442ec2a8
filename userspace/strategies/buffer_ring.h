#pragma once
// The zero-copy sender's message buffers. The kernel may read a buffer until the completion
// of every send made from it arrives, so a slot is handed out again only after that. The
// ring grows on demand, one slot at a time, and only while it holds fewer bytes than can
// be in flight (the caller's limit: the socket's send buffer plus the notification lag), so
// its memory follows what the kernel really holds instead of a fixed slot count.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "strategies/completion.h"
#include "strategies/message.h"

namespace copyscope {

class BufferRing {
  public:
    explicit BufferRing(size_t message_size) : message_size_(message_size) {}

    // The slot to fill next (the one used longest ago) if every send made from it has
    // completed; nullptr otherwise. A fresh ring has no slot: grow() first.
    Message* next_free(const CompletionTracker& tracker);
    // Adds a slot in front of the one used longest ago, so slots keep their order of use,
    // when one more message still fits in `limit_bytes`; returns it, or nullptr.
    Message* grow(uint64_t limit_bytes);
    // The slot next_free() or grow() handed out last.
    Message& current() { return slots_[current_]->message; }
    // The slot handed out last was sent as sequence numbers [begin, end): on to the next.
    void sent(uint64_t begin, uint64_t end);

    size_t slots() const { return slots_.size(); }
    uint64_t bytes() const { return uint64_t(slots_.size()) * message_size_; }

  private:
    struct Slot {
        Message message;
        uint64_t seq_begin = 0; // sequence numbers of the sends made from this slot
        uint64_t seq_end = 0;
    };
    static bool is_free(const Slot& slot, const CompletionTracker& tracker);

    size_t message_size_;
    std::vector<std::unique_ptr<Slot>> slots_; // a buffer stays where it is as the ring grows
    size_t current_ = 0;                       // the slot to hand out next
};

// What can be in flight on a zero-copy socket: the bytes TCP keeps queued and unacknowledged
// are bounded by its send buffer (SO_SNDBUF, which autotuning grows while the connection
// runs), plus the message being filled and one sent in part across the bound, whose
// completions the sender has not read yet.
uint64_t zero_copy_in_flight_limit(uint64_t send_buffer_bytes, size_t message_size);

} // namespace copyscope
