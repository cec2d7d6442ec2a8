#pragma once
// What the runner counted itself in one cell: bytes and messages, throughput per
// repetition, round trips, MSG_ZEROCOPY notifications, and its checks.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace copyscope {

// What the application did and saw, counted by the runner itself.
struct AppCounts {
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t messages_sent = 0;
    uint64_t send_calls = 0;      // send()/sendmsg() calls that moved bytes
    uint64_t user_copy_bytes = 0; // two-copy staging memcpy
    uint64_t payload_errors = 0;  // bytes that differed from the pattern (verify_payload)
    uint64_t response_bytes = 0;  // bytes the receiver sent back: rr answers, a sink's tally
    // udp: datagrams (segments, with GSO) sent and received, and what the kernel says the
    // receiving sockets dropped (SO_MEMINFO SK_MEMINFO_DROPS, read after the last datagram).
    uint64_t datagrams_sent = 0;
    uint64_t datagrams_received = 0;
    uint64_t datagrams_dropped = 0;
    uint64_t bytes_dropped = 0; // the payload of the dropped datagrams, by their place
    // The receiver's namespace: its UDP MIB's RcvbufErrors and InErrors (/proc/net/snmp),
    // and the packets its devices dropped before any socket (rx_dropped: a full backlog).
    uint64_t namespace_udp_rcvbuf_errors = 0;
    uint64_t namespace_udp_in_errors = 0;
    uint64_t device_rx_dropped_packets = 0;
    // receive zerocopy: bytes mapped by TCP_ZEROCOPY_RECEIVE, and those recv() copied
    // (what the kernel could not map); mapped + copied == bytes received.
    uint64_t receive_mapped_bytes = 0;
    uint64_t receive_copied_bytes = 0;

    bool operator==(const AppCounts&) const = default;
};

// Throughput over the counted repetitions (Gbit/s per repetition).
struct ThroughputStats {
    std::vector<double> samples;
    bool converged = false;

    bool operator==(const ThroughputStats&) const = default;
};

// rr round trips, in microseconds.
struct LatencyStats {
    uint64_t round_trips = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;

    bool operator==(const LatencyStats&) const = default;
};

// MSG_ZEROCOPY notifications read from the error queue (zero-copy cells only).
struct ZerocopyStats {
    uint64_t sends = 0;              // sendmsg(MSG_ZEROCOPY) calls that moved bytes (ids used)
    uint64_t completions = 0;        // sends covered by completion ranges
    uint64_t completions_copied = 0; // of those, in ranges flagged SO_EE_CODE_ZEROCOPY_COPIED
    uint64_t notifications = 0;      // error-queue messages read (ranges coalesce sends)
    uint64_t enobufs = 0;            // sendmsg returned ENOBUFS and was retried
    uint64_t missing = 0;            // sends whose completion never arrived

    bool operator==(const ZerocopyStats&) const = default;
};

// io_uring sends (io-uring, io-uring-zc, io-uring-zc-fixed), as the sender read its CQEs.
// One request per field, the message's requests linked (IOSQE_IO_LINK) and only one such
// chain in flight per socket, so the bytes reach the socket in order.
struct IoUringStats {
    uint64_t requests = 0;             // send requests submitted (SQEs)
    uint64_t cqes = 0;                 // completion queue entries read
    uint64_t cqes_more = 0;            // send CQEs with IORING_CQE_F_MORE: a notification follows
    uint64_t notifications = 0;        // CQEs with IORING_CQE_F_NOTIF (SEND_ZC)
    uint64_t notifications_copied = 0; // of those, res & IORING_NOTIF_USAGE_ZC_COPIED
    uint64_t copied_request_bytes = 0; // bytes of the requests whose notification said COPIED
    uint64_t registered_buffers = 0;   // buffers registered with the ring (fixed), at the end
    uint64_t missing = 0;              // notifications that never arrived
    double notification_wait_seconds = 0; // blocked waiting for a notification (buffer reuse)
    double send_wait_seconds = 0;         // blocked waiting for the send CQEs of a chain

    bool operator==(const IoUringStats&) const = default;
};

// sendfile: what the sender did to its memfd. The file's pages stay referenced by skbs
// until the receiver has copied them, so a range is never written again in place: its
// pages are released (fallocate PUNCH_HOLE) and fresh ones are faulted in for the next
// message.
struct SendfileStats {
    uint64_t file_bytes_written = 0; // the fields copied into the file's mapping
    uint64_t ranges_released = 0;    // fallocate(PUNCH_HOLE) calls before a range was reused
    uint64_t bytes_released = 0;     // bytes of file those calls released

    bool operator==(const SendfileStats&) const = default;
};

struct Check {
    std::string name;
    bool passed = false;
    std::string detail; // the numbers behind the verdict, in words
    // Is it independent evidence (two observations that could disagree), or does it follow
    // from other checks or compare a figure with one derived from it? nullopt: not said.
    std::optional<bool> independent;
    std::string independent_why; // why, in words

    bool operator==(const Check&) const = default;
};

} // namespace copyscope
