#pragma once
// io-uring, io-uring-zc, io-uring-zc-fixed: a message's 8 fields as 8 send requests on an
// io_uring ring, linked (IOSQE_IO_LINK) so the kernel runs them in order, and only one such
// chain in flight per socket. Several sends in flight on one TCP socket can interleave
// their bytes (a request that could not finish at once is retried later, after the next
// one ran), so the next chain is submitted only once every send CQE of the last arrived.
//
//   io-uring           IORING_OP_SEND: the kernel copies the field at send time; the buffer
//                      is free again at the send CQE.
//   io-uring-zc        IORING_OP_SEND_ZC with IORING_SEND_ZC_REPORT_USAGE: pages pinned per
//                      request; the buffer is the kernel's until the request's notification
//                      CQE (IORING_CQE_F_NOTIF), whose res says whether the data was copied
//                      after all (IORING_NOTIF_USAGE_ZC_COPIED).
//   io-uring-zc-fixed  the same from buffers registered with the ring once
//                      (IORING_RECVSEND_FIXED_BUF): pinned at registration, not per send.
//
// The zero-copy buffers live in a ring of messages (strategies/buffer_ring.h) that grows
// with what can be in flight; a slot is handed out again only when the notifications of
// all its requests arrived.
#include <cstdint>
#include <string>
#include <unordered_map>

#include "strategies/buffer_ring.h"
#include "strategies/completion.h"
#include "strategies/io_uring_uapi.h"
#include "strategies/sender.h"

namespace copyscope {

class IoUringSender final : public MessageSender {
  public:
    explicit IoUringSender(const SenderOptions& options);
    ~IoUringSender() override;
    IoUringSender(const IoUringSender&) = delete;
    IoUringSender& operator=(const IoUringSender&) = delete;

    Message& next_message() override;
    void send() override;
    void finish() override;
    std::optional<IoUringStats> io_uring() const override { return stats_; }

    size_t ring_slots() const { return buffers_.slots(); }
    // io-uring-zc-fixed: the most message slots the registered-buffer table holds (8
    // buffers a slot, IORING_MAX_REG_BUFFERS = 16384 in the kernel).
    static constexpr unsigned kMaxFixedSlots = 16384 / kFieldsPerMessage;

  private:
    void prepare(io_uring_sqe* sqe, const Message& m, size_t field, uint64_t seq);
    Message* grow();
    void register_fields(const Message& m);
    unsigned reap();
    unsigned wait(int timeout_ms);
    void on_cqe(const io_uring_cqe& cqe);
    void complete(uint64_t seq);
    void wait_for_chain();

    int fd_;
    int timeout_ms_;
    size_t message_size_;
    bool zc_;
    bool fixed_;
    struct io_uring uring_ {}; // "struct": io_uring() names the stats here
    uint64_t limit_ = 0;
    BufferRing buffers_;
    CompletionTracker tracker_;
    std::unordered_map<uint64_t, uint32_t> pending_; // request -> bytes asked, until done
    unsigned chain_left_ = 0;                        // send CQEs of the chain still to come
    std::string chain_error_;
    int chain_errno_ = 0;
    std::unordered_map<const Message*, unsigned> registered_at_; // fixed: first table index
    unsigned registered_ = 0;
    IoUringStats stats_;
};

} // namespace copyscope
