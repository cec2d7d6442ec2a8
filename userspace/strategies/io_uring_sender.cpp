#include "strategies/io_uring_sender.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/socket.h>

#include "common/errors.h"

namespace copyscope {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Room for every notification of the slots in flight without overflowing into the
// kernel's list (which it would flush on the next wait anyway: IORING_FEAT_NODROP).
constexpr unsigned kSubmissionEntries = 16;
constexpr unsigned kCompletionEntries = 4096;

uint64_t send_buffer_bytes(int fd) {
    int bytes = 0;
    socklen_t len = sizeof bytes;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, &len) != 0)
        throw RunError(errno_message("getsockopt(SO_SNDBUF)", errno));
    return uint64_t(bytes > 0 ? bytes : 0);
}

std::string liburing_error(const std::string& what, int negative_errno) {
    return what + ": " + std::strerror(-negative_errno);
}

} // namespace

IoUringSender::IoUringSender(const SenderOptions& o)
    : fd_(o.fd), timeout_ms_(o.completion_timeout_ms), message_size_(o.message_size),
      zc_(uses_send_zc(o.strategy)), fixed_(o.strategy == Strategy::io_uring_zc_fixed),
      buffers_(o.message_size) {
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = kCompletionEntries;
    int err = io_uring_queue_init_params(kSubmissionEntries, &uring_, &params);
    if (err < 0) throw RunError(liburing_error("io_uring_queue_init", err));
    if (fixed_) {
        err = io_uring_register_buffers_sparse(&uring_, kMaxFixedSlots * kFieldsPerMessage);
        if (err < 0) {
            io_uring_queue_exit(&uring_);
            throw RunError(liburing_error("io_uring_register_buffers_sparse", err));
        }
    }
    stats_ = IoUringStats{};
}

IoUringSender::~IoUringSender() {
    // Tears the ring down (and with it the registered buffers) before the buffers go.
    io_uring_queue_exit(&uring_);
}

void IoUringSender::prepare(io_uring_sqe* sqe, const Message& m, size_t field, uint64_t seq) {
    void* buf = m.field(field);
    const size_t len = m.field_size(field);
    // MSG_WAITALL: a stream socket's partial send is retried by the kernel for the rest
    // (io_net_retry) instead of completing short and breaking the link.
    if (!zc_)
        io_uring_prep_send(sqe, fd_, buf, len, MSG_WAITALL | MSG_NOSIGNAL);
    else if (!fixed_)
        io_uring_prep_send_zc(sqe, fd_, buf, len, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE);
    else
        io_uring_prep_send_zc_fixed(sqe, fd_, buf, len, MSG_WAITALL, IORING_SEND_ZC_REPORT_USAGE,
                                    registered_at_.at(&m) + unsigned(field));
    io_uring_sqe_set_data64(sqe, seq);
    pending_[seq] = uint32_t(len);
}

void IoUringSender::register_fields(const Message& m) {
    iovec iov[kFieldsPerMessage];
    for (size_t i = 0; i < kFieldsPerMessage; ++i)
        iov[i] = m.iov()[i];
    const int n =
        io_uring_register_buffers_update_tag(&uring_, registered_, iov, nullptr, kFieldsPerMessage);
    if (n < 0)
        throw RunError(liburing_error("registering a message's buffers with the ring", n) +
                       (n == -ENOMEM ? " (RLIMIT_MEMLOCK without CAP_IPC_LOCK?)" : ""));
    registered_at_[&m] = registered_;
    registered_ += kFieldsPerMessage;
    stats_.registered_buffers = registered_;
}

// A copying send is done with its buffer at its CQE: one slot serves every message. A
// zero-copy one keeps it until the notification: slots up to what the socket can hold in
// flight (strategies/buffer_ring.h), and for fixed buffers what the table can register.
Message* IoUringSender::grow() {
    uint64_t limit = message_size_;
    if (zc_) {
        if (buffers_.bytes() + message_size_ > limit_)
            limit_ = zero_copy_in_flight_limit(send_buffer_bytes(fd_), message_size_);
        limit = limit_;
        if (fixed_ && buffers_.slots() >= kMaxFixedSlots) return nullptr;
    }
    Message* m = buffers_.grow(limit);
    if (m && fixed_) register_fields(*m);
    return m;
}

Message& IoUringSender::next_message() {
    auto last_progress = Clock::now();
    for (;;) {
        if (Message* free = buffers_.next_free(tracker_)) return *free;
        if (reap() > 0) {
            last_progress = Clock::now();
            continue;
        }
        if (Message* fresh = grow()) return *fresh;
        const auto t0 = Clock::now();
        const unsigned n = wait(100);
        stats_.notification_wait_seconds += seconds_since(t0);
        if (n > 0) {
            last_progress = Clock::now();
        } else if (Clock::now() - last_progress > std::chrono::milliseconds(timeout_ms_)) {
            throw RunError("io_uring: no notification for " + std::to_string(timeout_ms_) +
                           " ms while a buffer was still in flight");
        }
    }
}

void IoUringSender::complete(uint64_t seq) {
    pending_.erase(seq);
    tracker_.complete(uint32_t(seq), uint32_t(seq));
}

void IoUringSender::on_cqe(const io_uring_cqe& cqe) {
    ++stats_.cqes;
    const uint64_t seq = io_uring_cqe_get_data64(&cqe);
    auto it = pending_.find(seq);
    const uint32_t asked = it == pending_.end() ? 0 : it->second;
    if (cqe.flags & IORING_CQE_F_NOTIF) {
        ++stats_.notifications;
        if (uint32_t(cqe.res) & IORING_NOTIF_USAGE_ZC_COPIED) {
            ++stats_.notifications_copied;
            stats_.copied_request_bytes += asked;
        }
        complete(seq);
        return;
    }
    if (chain_left_ > 0) --chain_left_;
    if (cqe.res < 0) {
        // The first failure of a chain says why; the requests linked after it are
        // cancelled (ECANCELED).
        if (chain_error_.empty() || (chain_errno_ == ECANCELED && cqe.res != -ECANCELED)) {
            chain_error_ = std::strerror(-cqe.res);
            chain_errno_ = -cqe.res;
        }
    } else if (uint32_t(cqe.res) != asked) {
        if (chain_error_.empty())
            chain_error_ = "sent " + std::to_string(cqe.res) + " of " + std::to_string(asked) +
                           " bytes (MSG_WAITALL)";
    } else {
        ++counts_.calls;
    }
    // IORING_CQE_F_MORE: a notification follows; without it the request is done.
    if (cqe.flags & IORING_CQE_F_MORE)
        ++stats_.cqes_more;
    else
        complete(seq);
}

unsigned IoUringSender::reap() {
    unsigned n = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&uring_, head, cqe) {
        on_cqe(*cqe);
        ++n;
    }
    io_uring_cq_advance(&uring_, n);
    return n;
}

unsigned IoUringSender::wait(int timeout_ms) {
    __kernel_timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL};
    io_uring_cqe* cqe = nullptr;
    const int r = io_uring_wait_cqe_timeout(&uring_, &cqe, &ts);
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EAGAIN)
        throw RunError(liburing_error("io_uring_wait_cqe_timeout", r));
    return reap();
}

void IoUringSender::wait_for_chain() {
    const auto t0 = Clock::now();
    auto last_progress = t0;
    reap();
    while (chain_left_ > 0) {
        if (wait(100) > 0) {
            last_progress = Clock::now();
        } else if (Clock::now() - last_progress > std::chrono::milliseconds(timeout_ms_)) {
            throw RunError("io_uring: no send completion for " + std::to_string(timeout_ms_) +
                           " ms (the receiver stopped reading?)");
        }
    }
    stats_.send_wait_seconds += seconds_since(t0);
}

void IoUringSender::send() {
    Message& m = buffers_.current(); // handed out by next_message()
    const uint64_t first = tracker_.sent();
    chain_error_.clear();
    chain_errno_ = 0;
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        io_uring_sqe* sqe = io_uring_get_sqe(&uring_);
        if (!sqe) throw RunError("io_uring: no free submission entry for a message's chain");
        prepare(sqe, m, i, tracker_.record_send());
        if (i + 1 < kFieldsPerMessage) sqe->flags |= IOSQE_IO_LINK;
    }
    stats_.requests += kFieldsPerMessage;
    chain_left_ = kFieldsPerMessage;
    while (io_uring_sq_ready(&uring_) > 0) {
        const int r = io_uring_submit(&uring_);
        if (r > 0) continue;
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY)
            throw RunError(liburing_error("io_uring_submit", r));
        wait(10); // EAGAIN/EBUSY, or nothing taken: completions must be read first
    }
    wait_for_chain();
    buffers_.sent(first, tracker_.sent());
    if (!chain_error_.empty()) throw RunError("io_uring send: " + chain_error_);
    counts_.bytes += m.size();
    ++counts_.messages;
}

void IoUringSender::finish() {
    const auto t0 = Clock::now();
    auto last_progress = t0;
    while (tracker_.outstanding() > 0) {
        if (wait(50) > 0) {
            last_progress = Clock::now();
        } else if (Clock::now() - last_progress > std::chrono::milliseconds(timeout_ms_)) {
            break;
        }
    }
    if (zc_) stats_.notification_wait_seconds += seconds_since(t0);
    stats_.missing = tracker_.outstanding();
}

} // namespace copyscope
