#include "strategies/completion.h"

namespace copyscope {

uint64_t CompletionTracker::widen(uint32_t id) const {
    // Ids of interest lie at or after the watermark and before sent_: measure the distance
    // from the watermark's own 32-bit id, modulo 2^32.
    uint32_t base = uint32_t(first_id_ + done_below_);
    return done_below_ + uint32_t(id - base);
}

uint64_t CompletionTracker::complete(uint32_t lo, uint32_t hi) {
    uint64_t begin = widen(lo);
    uint64_t end = begin + uint64_t(uint32_t(hi - lo)) + 1; // exclusive
    if (end > sent_) end = sent_;                           // never trust beyond what we sent
    if (begin >= end) return 0;

    // Count only what is new: subtract overlaps with ranges already recorded.
    uint64_t fresh = end - begin;
    for (auto it = ahead_.begin(); it != ahead_.end(); ++it) {
        uint64_t a = std::max(begin, it->first), b = std::min(end, it->second);
        if (a < b) fresh -= b - a;
    }
    ahead_[begin] = std::max(ahead_[begin], end);
    // Merge ranges and advance the watermark over the contiguous prefix.
    for (auto it = ahead_.begin(); it != ahead_.end() && it->first <= done_below_;) {
        if (it->second > done_below_) done_below_ = it->second;
        it = ahead_.erase(it);
    }
    completed_ += fresh;
    return fresh;
}

bool CompletionTracker::is_complete(uint64_t seq) const {
    if (seq < done_below_) return true;
    auto it = ahead_.upper_bound(seq);
    if (it == ahead_.begin()) return false;
    --it;
    return seq >= it->first && seq < it->second;
}

} // namespace copyscope
