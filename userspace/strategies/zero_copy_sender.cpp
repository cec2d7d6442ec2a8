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

size_t ZeroCopySender::ring_slots(size_t message_size) {
    constexpr size_t kRingBytes = 32u << 20;
    return std::clamp<size_t>(kRingBytes / message_size, 4, 1024);
}

ZeroCopySender::ZeroCopySender(const SenderOptions& o)
    : fd_(o.fd), completion_timeout_ms_(o.completion_timeout_ms) {
    int one = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one) != 0)
        throw RunError(errno_message("setsockopt(SO_ZEROCOPY)", errno));
    size_t slots = ring_slots(o.message_size);
    ring_.reserve(slots);
    for (size_t i = 0; i < slots; ++i) ring_.push_back(Slot{Message(o.message_size)});
    stats_ = ZerocopyStats{};
}

bool ZeroCopySender::slot_free(const Slot& slot) const {
    for (uint64_t s = slot.seq_begin; s < slot.seq_end; ++s)
        if (!tracker_.is_complete(s)) return false;
    return true;
}

Message& ZeroCopySender::next_message() {
    Slot& slot = ring_[current_];
    auto last_progress = std::chrono::steady_clock::now();
    while (!slot_free(slot)) {
        if (wait_for_completions(100) > 0) {
            last_progress = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_progress >
                   std::chrono::milliseconds(completion_timeout_ms_)) {
            throw RunError("zero-copy: no completion for " +
                           std::to_string(completion_timeout_ms_) +
                           " ms while a buffer was still in flight");
        }
    }
    return slot.message;
}

void ZeroCopySender::send() {
    Slot& slot = ring_[current_];
    slot.seq_begin = tracker_.sent();
    auto on_call = [this] {
        tracker_.record_send();
        ++stats_.sends;
    };
    auto on_enobufs = [this] {
        // Option memory or locked pages ran out: let completions release some, then retry.
        ++stats_.enobufs;
        wait_for_completions(10);
    };
    counts_.calls += sendmsg_all(fd_, slot.message, MSG_ZEROCOPY, on_call, on_enobufs);
    slot.seq_end = tracker_.sent();
    counts_.bytes += slot.message.size();
    ++counts_.messages;
    current_ = (current_ + 1) % ring_.size();
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
