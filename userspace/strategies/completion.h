#pragma once
// MSG_ZEROCOPY completion bookkeeping.
//
// The kernel numbers a socket's zerocopy sends with a 32-bit counter (sk_zckey, starting at
// 0; one id per sendmsg call that queued data) and reports completions on the error queue
// as inclusive ranges [ee_info, ee_data] that may wrap around 2^32. The tracker widens ids
// to 64 bits relative to what it has seen, so wrap-around is harmless.
#include <cstdint>
#include <map>

namespace copyscope {

class CompletionTracker {
  public:
    // `first_id`: the kernel id of the first send (0 on a fresh socket; tests start near
    // 2^32 to exercise the wrap).
    explicit CompletionTracker(uint32_t first_id = 0) : first_id_(first_id) {}

    // Registers the next send; returns its 64-bit sequence number (0, 1, 2...).
    uint64_t record_send() { return sent_++; }
    uint64_t sent() const { return sent_; }

    // A completion range [lo, hi] (kernel ids, inclusive). Returns how many sends it
    // newly completed (ranges never overlap in practice; repeats are not counted twice).
    uint64_t complete(uint32_t lo, uint32_t hi);

    // Every send with sequence < the watermark has completed.
    uint64_t watermark() const { return done_below_; }
    bool is_complete(uint64_t seq) const;
    uint64_t completed() const { return completed_; }
    uint64_t outstanding() const { return sent_ - completed_; }

  private:
    uint64_t widen(uint32_t id) const;

    uint32_t first_id_;
    uint64_t sent_ = 0;
    uint64_t completed_ = 0;
    uint64_t done_below_ = 0;
    std::map<uint64_t, uint64_t> ahead_; // completed ranges above the watermark: lo -> hi+1
};

} // namespace copyscope
