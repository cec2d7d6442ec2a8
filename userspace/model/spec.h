#pragma once
// What one cell of a run asks for: the strategy, the transport, the message size, the
// connections, and how long or how much to send.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace copyscope {

// The classroom four, then the send paths real programs use: sendfile(2) from a memfd,
// io_uring's IORING_OP_SEND, IORING_OP_SEND_ZC, and SEND_ZC from registered buffers.
enum class Strategy {
    two_copy,
    per_field,
    one_copy,
    zero_copy,
    sendfile,
    io_uring,
    io_uring_zc,
    io_uring_zc_fixed,
};
// veth: sender and receiver namespaces joined by a veth pair. loopback: one namespace, lo.
// forward: sender -> router -> receiver namespaces, two veth pairs, the router forwards.
// nic: the sender in copyscope's own namespace, sending to a `copyscope sink` elsewhere
// (another host, or the host side of a virtual machine) through a real network device.
enum class Transport { veth, loopback, forward, nic };
enum class Role { sender, receiver };
// stream: the sender sends as fast as it can. rr: request/response, the sender waits for a
// small answer after every message and times the round trip (netperf TCP_RR style).
enum class Pattern { stream, rr };
// tcp: one stream per connection. udp: one datagram per message (or, with GSO, one
// UDP_SEGMENT send per 64 segments), a connected UDP socket pair per connection.
enum class Protocol { tcp, udp };
// copy: recv() into the receiver's buffer. zerocopy: TCP_ZEROCOPY_RECEIVE maps the receive
// queue's pages into the receiver; what cannot be mapped is copied.
enum class Receive { copy, zerocopy };

std::string_view to_string(Strategy s);
std::string_view to_string(Transport t);
std::string_view to_string(Role r);
std::string_view to_string(Pattern p);
std::optional<Pattern> pattern_from_string(std::string_view name);
std::optional<Strategy> strategy_from_string(std::string_view name);
std::optional<Transport> transport_from_string(std::string_view name);
std::string_view to_string(Protocol p);
std::string_view to_string(Receive r);
std::optional<Protocol> protocol_from_string(std::string_view name);
std::optional<Receive> receive_from_string(std::string_view name);
inline constexpr Strategy classic_strategies[] = {Strategy::two_copy, Strategy::per_field,
                                                  Strategy::one_copy, Strategy::zero_copy};
inline constexpr Strategy path_strategies[] = {Strategy::sendfile, Strategy::io_uring,
                                               Strategy::io_uring_zc, Strategy::io_uring_zc_fixed};
inline constexpr Strategy all_strategies[] = {
    Strategy::two_copy, Strategy::per_field, Strategy::one_copy,    Strategy::zero_copy,
    Strategy::sendfile, Strategy::io_uring,  Strategy::io_uring_zc, Strategy::io_uring_zc_fixed};
// Strategies that send through an io_uring ring, and those of them that send with
// IORING_OP_SEND_ZC (notifications, usage flags).
constexpr bool uses_io_uring(Strategy s) {
    return s == Strategy::io_uring || s == Strategy::io_uring_zc ||
           s == Strategy::io_uring_zc_fixed;
}
constexpr bool uses_send_zc(Strategy s) {
    return s == Strategy::io_uring_zc || s == Strategy::io_uring_zc_fixed;
}
inline constexpr Transport all_transports[] = {Transport::veth, Transport::loopback,
                                               Transport::forward, Transport::nic};

struct CellSpec {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    uint64_t message_size = 65536;
    unsigned threads = 1;
    double duration_seconds = 0; // > 0: each connection sends for this long
    uint64_t bytes = 0;          // > 0: the cell sends at least this many bytes, whole messages
    bool verify_payload = false;
    Pattern pattern = Pattern::stream;
    std::string peer; // nic: the sink's address, "HOST:PORT"
    // Repetitions: an uncounted warm-up, then repetitions until the 95% confidence interval
    // of throughput is within `precision` of the mean, or max_repetitions.
    double warmup_seconds = 0;
    unsigned min_repetitions = 1;
    unsigned max_repetitions = 1;
    double precision = 0.03;
    Protocol protocol = Protocol::tcp;
    uint32_t udp_gso = 0; // udp: UDP_SEGMENT size; 0: none
    // udp: each datagram built from its fields, all but the last sent with MSG_MORE (the
    // kernel corks them into one datagram: udp_sendmsg's corkreq).
    bool udp_cork = false;
    // The sender's veth without TX checksum offload (ETHTOOL_STXCSUM off), for the cell only.
    bool tx_checksum_off = false;
    Receive receive = Receive::copy;

    bool operator==(const CellSpec&) const = default;
};

// UDP: the largest datagram payload (65535 - 8 UDP - 20 IPv4), and the most segments one
// UDP_SEGMENT send may carry on every kernel here (64 on 6.1.20; 128 from 6.1.141 on).
inline constexpr uint64_t kMaxUdpPayload = 65507;
inline constexpr uint64_t kMaxUdpSegments = 64;
// TCP_ZEROCOPY_RECEIVE maps whole pages only: the lab's links get an MTU whose IPv4 MSS
// (with timestamps) is 15 pages: 15 * 4096 + 20 (IPv4) + 32 (TCP with timestamps).
inline constexpr unsigned kZerocopyReceiveMtu = 61492;
// The lab's MTUs otherwise: veth's default, and lo's.
inline constexpr unsigned kVethMtu = 1500;
inline constexpr unsigned kLoopbackMtu = 65536;

// The rr pattern's answer: small, fixed.
inline constexpr size_t kResponseSize = 64;

} // namespace copyscope
