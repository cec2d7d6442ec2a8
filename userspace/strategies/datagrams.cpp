#include "strategies/datagrams.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <sys/socket.h>

#include "common/errors.h"
#include "model/spec.h"
#include "strategies/message.h"

namespace copyscope {

uint64_t DatagramPlan::offset_of(uint64_t index) const {
    const uint64_t n = segments.size();
    return index / n * message_size + segment_offsets[index % n];
}

std::map<uint32_t, uint64_t> DatagramPlan::sizes_of(uint64_t messages) const {
    std::map<uint32_t, uint64_t> out;
    if (messages == 0) return out;
    for (uint32_t s : segments)
        out[s] += messages;
    return out;
}

DatagramPlan plan_datagrams(uint64_t message_size, uint32_t gso, bool corked) {
    DatagramPlan p;
    p.message_size = message_size;
    p.gso = gso;
    p.corked = corked;
    if (corked && gso > 0)
        throw UsageError("--udp-cork: not with --udp-gso (a corked GSO datagram's later pieces "
                         "are copied while its first is pinned, under one ubuf_info)");
    if (gso == 0) {
        if (message_size > kMaxUdpPayload)
            throw UsageError("udp: a " + std::to_string(message_size) +
                             "-byte message does not fit one datagram (at most " +
                             std::to_string(kMaxUdpPayload) + " bytes); use --udp-gso SIZE");
        p.sends = {uint32_t(message_size)};
        p.segments = {uint32_t(message_size)};
        p.segment_offsets = {0};
        return p;
    }
    if (gso > kMaxUdpPayload)
        throw UsageError("--udp-gso " + std::to_string(gso) + ": a segment is at most " +
                         std::to_string(kMaxUdpPayload) + " bytes");
    const uint64_t per_send =
        uint64_t(gso) * std::min<uint64_t>(kMaxUdpSegments, kMaxUdpPayload / gso);
    for (uint64_t at = 0; at < message_size;) {
        const uint64_t piece = std::min(per_send, message_size - at);
        p.sends.push_back(uint32_t(piece));
        for (uint64_t s = 0; s < piece; s += gso) {
            p.segments.push_back(uint32_t(std::min<uint64_t>(gso, piece - s)));
            p.segment_offsets.push_back(at + s);
        }
        at += piece;
    }
    return p;
}

namespace {

// MSG_ZEROCOPY pins a send's pages as fragments of one skb, at most MAX_SKB_FRAGS (17 by
// default) of them, else EMSGSIZE; the fields are apart, so each spans its own pages.
constexpr size_t kMaxSkbFrags = 17;
constexpr uintptr_t kPage = 4096;

size_t pages_spanned(const iovec* part, size_t n) {
    size_t pages = 0;
    for (size_t i = 0; i < n; ++i) {
        const uintptr_t start = reinterpret_cast<uintptr_t>(part[i].iov_base);
        if (part[i].iov_len > 0) pages += (start + part[i].iov_len - 1) / kPage - start / kPage + 1;
    }
    return pages;
}

using Slice = std::array<iovec, kFieldsPerMessage + 1>;

// The bytes [from, from + len) of `part` as iovecs; returns their count.
size_t sub_slice(const Slice& part, size_t n, size_t from, size_t len, Slice& out) {
    size_t m = 0;
    for (size_t i = 0; i < n && len > 0; ++i) {
        if (from >= part[i].iov_len) {
            from -= part[i].iov_len;
            continue;
        }
        const size_t take = std::min(len, part[i].iov_len - from);
        out[m++] = iovec{static_cast<std::byte*>(part[i].iov_base) + from, take};
        len -= take;
        from = 0;
    }
    return m;
}

// One sendmsg of a whole datagram (or GSO segments): all or an error.
void send_one(int fd, const iovec* iov, size_t n, size_t bytes, int flags,
              const std::function<void()>& on_enobufs) {
    for (;;) {
        msghdr msg{};
        msg.msg_iov = const_cast<iovec*>(iov);
        msg.msg_iovlen = n;
        ssize_t sent = ::sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS && on_enobufs) {
                on_enobufs();
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) throw RunError("sendmsg (udp) timed out");
            if (errno == EMSGSIZE && (flags & MSG_ZEROCOPY))
                throw RunError("sendmsg (udp, MSG_ZEROCOPY, " + std::to_string(bytes) +
                               " bytes): EMSGSIZE: its " + std::to_string(pages_spanned(iov, n)) +
                               " pages are more than one skb's 17 fragments (MAX_SKB_FRAGS)");
            throw RunError(
                errno_message("sendmsg (udp, " + std::to_string(bytes) + " bytes)", errno));
        }
        if (size_t(sent) != bytes)
            throw RunError("sendmsg (udp) sent " + std::to_string(sent) + " of " +
                           std::to_string(bytes) + " bytes");
        return;
    }
}

// One datagram corked: each non-empty piece its own sendmsg, all but the last with
// MSG_MORE (udp_sendmsg's corkreq; the kernel appends them to the pending datagram and sends
// it with the last). Zero-length pieces are skipped: a MSG_ZEROCOPY send of nothing takes
// no notification id.
uint64_t send_corked(int fd, const iovec* part, size_t n, int flags,
                     const std::function<void()>& on_call,
                     const std::function<void()>& on_enobufs) {
    size_t last = n;
    for (size_t i = 0; i < n; ++i)
        if (part[i].iov_len > 0) last = i;
    if (last == n) return 0;
    uint64_t calls = 0;
    for (size_t i = 0; i <= last; ++i) {
        if (part[i].iov_len == 0) continue;
        send_one(fd, &part[i], 1, part[i].iov_len, flags | (i < last ? MSG_MORE : 0), on_enobufs);
        ++calls;
        if (on_call) on_call();
    }
    return calls;
}

} // namespace

uint64_t send_datagrams(int fd, const iovec* iov, size_t iovcnt, const DatagramPlan& plan,
                        int flags, const std::function<void()>& on_call,
                        const std::function<void()>& on_enobufs) {
    if (plan.corked && iovcnt < 2)
        throw RunError("udp: a corked datagram needs its fields apart (two-copy sends one buffer)");
    uint64_t calls = 0;
    size_t field = 0, skip = 0; // where the next send starts: iov[field] + skip
    for (uint32_t piece : plan.sends) {
        // The iovec slice [here, here + piece): whole fields, the ends cut.
        Slice part{};
        size_t n = 0, left = piece, f = field, s = skip;
        while (left > 0 && f < iovcnt && n < part.size()) {
            const size_t take = std::min(left, iov[f].iov_len - s);
            part[n++] = iovec{static_cast<std::byte*>(iov[f].iov_base) + s, take};
            left -= take;
            s += take;
            if (s == iov[f].iov_len) {
                ++f;
                s = 0;
            }
        }
        if (left > 0) throw RunError("udp: the message is shorter than its datagram plan");
        if (plan.corked) {
            calls += send_corked(fd, part.data(), n, flags, on_call, on_enobufs);
        } else if (!(flags & MSG_ZEROCOPY) || plan.gso == 0 ||
                   pages_spanned(part.data(), n) <= kMaxSkbFrags) {
            send_one(fd, part.data(), n, piece, flags, on_enobufs);
            ++calls;
            if (on_call) on_call();
        } else {
            // Zero-copy GSO: as many whole segments per send as one skb's fragments hold
            // (the segments, and so what the receiver gets, are the same).
            for (size_t at = 0; at < piece;) {
                Slice sub{};
                size_t len = std::min<size_t>(plan.gso, piece - at);
                size_t m = sub_slice(part, n, at, len, sub);
                while (at + len < piece) {
                    Slice more{};
                    const size_t next = std::min<size_t>(len + plan.gso, piece - at);
                    const size_t k = sub_slice(part, n, at, next, more);
                    if (pages_spanned(more.data(), k) > kMaxSkbFrags) break;
                    sub = more;
                    m = k;
                    len = next;
                }
                send_one(fd, sub.data(), m, len, flags, on_enobufs);
                ++calls;
                if (on_call) on_call();
                at += len;
            }
        }
        field = f;
        skip = s;
    }
    return calls;
}

namespace {

// The pattern byte at a stream offset (see fill_pattern).
std::byte pattern_at(uint64_t offset) {
    std::byte b;
    fill_pattern(&b, 1, offset);
    return b;
}

} // namespace

uint64_t DatagramVerifier::check(const std::byte* data, size_t len) {
    for (uint64_t j = next_; j < next_ + kSearch; ++j) {
        if (plan_.size_of(j) != len) continue;
        const uint64_t at = plan_.offset_of(j);
        if (len > 0 && (data[0] != pattern_at(at) || data[len - 1] != pattern_at(at + len - 1)))
            continue;
        if (count_pattern_errors(data, len, at) != 0) continue;
        next_ = j + 1;
        return 0;
    }
    // Matches no place: wrong in full against the next expected one.
    const uint64_t at = plan_.offset_of(next_);
    const size_t expected = plan_.size_of(next_);
    uint64_t wrong = count_pattern_errors(data, std::min(len, expected), at);
    if (len > expected) wrong += len - expected;
    ++next_;
    return std::max<uint64_t>(wrong, 1);
}

} // namespace copyscope
