#pragma once
// UDP: how a message becomes datagrams, how they are sent, and how a receiver that may have
// lost some finds each one's place in the stream. Without GSO a message is one datagram
// (at most 65507 bytes); with UDP_SEGMENT it is sent in pieces of at most 64 segments,
// each piece a single sendmsg the kernel cuts into segments of the GSO size (the last one shorter),
// which the receiver gets as separate datagrams.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include <sys/uio.h>

namespace copyscope {

struct DatagramPlan {
    uint64_t message_size = 0;
    uint32_t gso = 0;
    // Each datagram appended field by field, all but its last piece with MSG_MORE: the
    // kernel corks them into one datagram (udp_sendmsg) and sends it with the last.
    bool corked = false;
    std::vector<uint32_t> sends;           // payload of each sendmsg of one message
    std::vector<uint32_t> segments;        // the datagrams the receiver gets from one message
    std::vector<uint64_t> segment_offsets; // where each starts in its message

    // Datagram `index` of the stream (counting from the first message): its place.
    uint64_t offset_of(uint64_t index) const;
    uint32_t size_of(uint64_t index) const { return segments[index % segments.size()]; }
    // The datagrams of `messages` messages, by size.
    std::map<uint32_t, uint64_t> sizes_of(uint64_t messages) const;
};

// Throws UsageError when the message cannot be sent this way (above 65507 bytes without
// GSO, a GSO size of 0 or above 65507, corked with GSO).
DatagramPlan plan_datagrams(uint64_t message_size, uint32_t gso, bool corked = false);

// Sends one message, held in `iov`, as the plan's sendmsg calls (`flags` | MSG_NOSIGNAL);
// returns the number of calls. A datagram is sent whole or not at all; corked, as one call
// per non-empty piece of `iov` it spans (RunError when `iov` is one buffer). `on_call` runs after
// each; `on_enobufs` (may be empty: then ENOBUFS is an error) runs before a refused call is
// retried.
uint64_t send_datagrams(int fd, const iovec* iov, size_t iovcnt, const DatagramPlan& plan,
                        int flags, const std::function<void()>& on_call = {},
                        const std::function<void()>& on_enobufs = {});

// Verifies received datagrams against the payload pattern when some may be lost. Each
// datagram must be, byte for byte, what the sender sent at some datagram place at or after
// the last one verified (lost datagrams are skipped, never counted as wrong); one that
// matches no place among the next `kSearch` is counted wrong in full, against the next
// expected place.
class DatagramVerifier {
  public:
    static constexpr uint64_t kSearch = 1 << 16;
    explicit DatagramVerifier(const DatagramPlan& plan) : plan_(plan) {}
    // The wrong bytes in this datagram.
    uint64_t check(const std::byte* data, size_t len);
    uint64_t next_index() const { return next_; }

  private:
    const DatagramPlan& plan_;
    uint64_t next_ = 0;
};

} // namespace copyscope
