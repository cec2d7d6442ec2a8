#pragma once
// The receiving ends other than TCP recv(): UDP datagrams, which may be lost, and TCP
// with TCP_ZEROCOPY_RECEIVE, which maps the receive queue's pages instead of copying them.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lab/netns.h"
#include "strategies/datagrams.h"

namespace copyscope {

// What the kernel says a UDP socket dropped since it was created (SO_MEMINFO,
// SK_MEMINFO_DROPS): datagrams (segments, with GSO) that found its queue full. Unlike
// SO_RXQ_OVFL it includes drops after the last datagram received.
uint64_t socket_drops(int fd);

// What a namespace counted as dropped so far: its UDP MIB (/proc/net/snmp Udp: RcvbufErrors,
// datagrams a socket's full queue refused; InErrors, every receive error) and the packets
// its devices dropped before any socket (rx_dropped of every link: a full backlog queue
// drops there; a GSO packet holds many datagrams).
struct NamespaceDrops {
    uint64_t udp_rcvbuf_errors = 0, udp_in_errors = 0, device_rx_dropped = 0;
};
NamespaceDrops namespace_drops(const NetNs& ns);

// One UDP flow's receiving end, kept for the whole cell.
struct DatagramReceiver {
    explicit DatagramReceiver(const DatagramPlan& plan) : verifier(plan) {}
    DatagramVerifier verifier;
    uint64_t datagrams = 0; // received, all phases
    // This phase's.
    uint64_t phase_bytes = 0, phase_datagrams = 0, phase_errors = 0;
    std::map<uint32_t, uint64_t> phase_sizes; // datagrams received by size

    // Receives until the datagrams received plus those the socket dropped reach `target()`
    // (the stream's datagram count once the sender has sent its last; until then more than
    // any count). Once the target is known, waits at most `quiet_ms` without a datagram or
    // a drop for the rest (lost elsewhere than the socket: the cell's check then says how
    // many). Stops early when `broken` is set; throws RunError when nothing arrives for
    // `timeout_ms` while the sender is still sending.
    void receive(int fd, bool verify, std::vector<std::byte>& buffer,
                 const std::function<uint64_t()>& target, const std::atomic<bool>& broken,
                 int quiet_ms, int timeout_ms);
};

// Why this kernel refuses TCP_ZEROCOPY_RECEIVE (mmap of a TCP socket, or the option on
// it), or nullopt: it takes it. Asked before any cell starts.
std::optional<std::string> zerocopy_receive_refused();

// A TCP receiving end using TCP_ZEROCOPY_RECEIVE: a window of the socket mmap()ed once,
// each call maps the whole pages at the head of the receive queue into it, and what the
// kernel cannot map (a partial page, a page it refuses) is read with recv(), a copy.
class MappedReceiver {
  public:
    static constexpr size_t kWindow = 4u << 20;
    explicit MappedReceiver(int fd);
    ~MappedReceiver();
    MappedReceiver(const MappedReceiver&) = delete;
    MappedReceiver& operator=(const MappedReceiver&) = delete;

    struct Got {
        uint64_t mapped = 0, copied = 0, payload_errors = 0;
        bool eof = false;
    };
    // Takes what is queued (waiting up to timeout_ms for something), verifying the payload
    // at stream offset `offset` when asked. Throws RunError with the kernel's reason when it
    // refuses TCP_ZEROCOPY_RECEIVE.
    Got receive(std::vector<std::byte>& buffer, uint64_t offset, bool verify, int timeout_ms);

  private:
    int fd_;
    void* window_ = nullptr;
};

} // namespace copyscope
