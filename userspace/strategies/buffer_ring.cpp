#include "strategies/buffer_ring.h"

#include <iterator>

namespace copyscope {

bool BufferRing::is_free(const Slot& slot, const CompletionTracker& tracker) {
    for (uint64_t s = slot.seq_begin; s < slot.seq_end; ++s)
        if (!tracker.is_complete(s)) return false;
    return true;
}

Message* BufferRing::next_free(const CompletionTracker& tracker) {
    if (slots_.empty()) return nullptr;
    Slot& slot = *slots_[current_];
    return is_free(slot, tracker) ? &slot.message : nullptr;
}

Message* BufferRing::grow(uint64_t limit_bytes) {
    if (bytes() + message_size_ > limit_bytes && !slots_.empty()) return nullptr;
    auto it = slots_.insert(slots_.begin() + std::ptrdiff_t(current_),
                            std::make_unique<Slot>(Slot{Message(message_size_)}));
    return &(*it)->message;
}

void BufferRing::sent(uint64_t begin, uint64_t end) {
    Slot& slot = *slots_[current_];
    slot.seq_begin = begin;
    slot.seq_end = end;
    current_ = (current_ + 1) % slots_.size();
}

uint64_t zero_copy_in_flight_limit(uint64_t send_buffer_bytes, size_t message_size) {
    return send_buffer_bytes + 2 * uint64_t(message_size);
}

} // namespace copyscope
