#include "strategies/zero_copy_sender.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "common/errors.h"

namespace copyscope {

namespace {

uint64_t send_buffer_bytes(int fd) {
    int bytes = 0;
    socklen_t len = sizeof bytes;
    if (::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, &len) != 0)
        throw RunError(errno_message("getsockopt(SO_SNDBUF)", errno));
    return uint64_t(std::max(bytes, 0));
}

} // namespace

ZeroCopySender::ZeroCopySender(const SenderOptions& o)
    : fd_(o.fd), completion_timeout_ms_(o.completion_timeout_ms), message_size_(o.message_size),
      datagrams_(o.datagrams), ring_(o.message_size) {
    int one = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0)
        throw RunError(errno_message("setsockopt(SO_ZEROCOPY)", errno));
    limit_ = zero_copy_in_flight_limit(send_buffer_bytes(fd_), message_size_);
    ring_.grow(limit_);
    stats_ = ZerocopyStats{};
}

uint64_t ZeroCopySender::in_flight_limit() {
    // TCP autotuning grows the send buffer while the connection runs: read it again when
    // the ring is about to reach the limit read last.
    if (ring_.bytes() + message_size_ > limit_)
        limit_ = zero_copy_in_flight_limit(send_buffer_bytes(fd_), message_size_);
    return limit_;
}

Message& ZeroCopySender::next_message() {
    auto last_progress = std::chrono::steady_clock::now();
    for (;;) {
        if (Message* free = ring_.next_free(tracker_)) return *free;
        // The oldest buffer is still the kernel's: read what completed meanwhile, then add a
        // buffer if more can be in flight, and wait only when it cannot.
        if (drain_error_queue() > 0) {
            last_progress = std::chrono::steady_clock::now();
            continue;
        }
        if (Message* fresh = ring_.grow(in_flight_limit())) return *fresh;
        if (wait_for_completions(100) > 0) {
            last_progress = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_progress >
                   std::chrono::milliseconds(completion_timeout_ms_)) {
            throw RunError("zero-copy: no completion for " +
                           std::to_string(completion_timeout_ms_) +
                           " ms while a buffer was still in flight");
        }
    }
}

void ZeroCopySender::send() {
    const uint64_t first = tracker_.sent();
    auto on_call = [this] {
        tracker_.record_send();
        ++stats_.sends;
    };
    auto on_enobufs = [this] {
        // Option memory or locked pages ran out: let completions release some, then retry.
        ++stats_.enobufs;
        wait_for_completions(10);
    };
    Message& message = ring_.current(); // handed out by next_message()
    if (datagrams_)
        counts_.calls += send_datagrams(fd_, message.iov().data(), kFieldsPerMessage, *datagrams_,
                                        MSG_ZEROCOPY, on_call, on_enobufs);
    else
        counts_.calls += sendmsg_all(fd_, message, MSG_ZEROCOPY, on_call, on_enobufs);
    ring_.sent(first, tracker_.sent());
    counts_.bytes += message.size();
    ++counts_.messages;
}

uint64_t ZeroCopySender::drain_error_queue() {
    uint64_t fresh = 0;
    for (;;) {
        char control[128];
        msghdr msg{};
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (::recvmsg(fd_, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return fresh;
            throw RunError(errno_message("recvmsg(MSG_ERRQUEUE)", errno));
        }
        for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
            bool recverr = (cm->cmsg_level == SOL_IP && cm->cmsg_type == IP_RECVERR) ||
                           (cm->cmsg_level == SOL_IPV6 && cm->cmsg_type == IPV6_RECVERR);
            if (!recverr) continue;
            const auto* serr = reinterpret_cast<const sock_extended_err*>(CMSG_DATA(cm));
            if (serr->ee_origin != SO_EE_ORIGIN_ZEROCOPY || serr->ee_errno != 0) continue;
            ++stats_.notifications;
            uint64_t n = tracker_.complete(serr->ee_info, serr->ee_data);
            fresh += n;
            stats_.completions += n;
            // A coalesced range keeps the code of its first notification.
            if (serr->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) stats_.completions_copied += n;
        }
    }
}

uint64_t ZeroCopySender::wait_for_completions(int timeout_ms) {
    uint64_t fresh = drain_error_queue();
    if (fresh > 0) return fresh;
    pollfd p{fd_, 0, 0}; // POLLERR is always reported: the error queue has something
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno != EINTR) throw RunError(errno_message("poll", errno));
    return drain_error_queue();
}

void ZeroCopySender::finish() {
    auto last_progress = std::chrono::steady_clock::now();
    while (tracker_.outstanding() > 0) {
        if (wait_for_completions(50) > 0) {
            last_progress = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_progress >
                   std::chrono::milliseconds(completion_timeout_ms_)) {
            break;
        }
    }
    stats_.missing = tracker_.outstanding();
}

} // namespace copyscope
