#pragma once
// The copy ledger of one cell, computed in typed stages from what the application counted
// (AppCounts, ZerocopyStats) and what the tracer counted in the kernel, per lab namespace:
//   tally.h    raw counts and hook uses -> each side's copies by direction, the totals
//   figures.h  the tally -> the ledger's figures, each measured with its evidence or not
//   checks.h   the ledger's checks, each a small function
//   verdict.h  the zero-copy verdict in words
// Pure: no I/O, no BPF, no JSON. Unit tests drive it with synthetic numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/app.h"
#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/ledger.h"
#include "model/spec.h"

namespace copyscope {

// What the tracer saw in one cell.
struct TracerView {
    std::vector<HookUse> hooks;
    uint64_t sender_ns = 0;   // namespace inode numbers
    uint64_t receiver_ns = 0; // == sender_ns when one namespace (loopback, nic)
    uint64_t router_ns = 0;   // forward only; 0: no router
    KernelCounts sender;
    KernelCounts receiver; // ignored when receiver_ns == sender_ns
    KernelCounts router;   // ignored when router_ns == 0
    // nic: the sender's namespace is shared with the rest of the host, so its socket counts
    // cover only sockets to the peer; sockets bound to the peer's address and port (a sink
    // running in this very namespace) are counted here instead. nullopt: not split.
    std::optional<KernelCounts> local_sink;
    uint64_t missed_events = 0; // BPF program runs the kernel skipped (recursion)
};

// A udp cell's send settings, for the rules of __ip_append_data: one datagram's payload (or
// one GSO send's), GSO, corking, and the sending device as the lab read it back.
struct UdpSendSettings {
    uint64_t datagram_bytes = 0;
    uint32_t gso = 0;
    bool corked = false;
    std::optional<SendDevice> device; // nullopt: not read
};

// The settings of a udp cell (its largest send), with the device the lab read.
UdpSendSettings udp_send_settings(const CellSpec& spec, std::optional<SendDevice> device);

struct LedgerInput {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    Protocol protocol = Protocol::tcp;
    Receive receive = Receive::copy;
    AppCounts app;
    std::optional<ZerocopyStats> zerocopy;
    std::optional<IoUringStats> io_uring; // io_uring strategies: the sender's CQE reads
    std::optional<TracerView> tracer;     // nullopt: no kernel-side view at all
    std::string tracer_unavailable;       // why, when tracer is nullopt
    // What the tracer says of itself, passed through to the ledger's "tracer" section.
    std::optional<HookMode> hook_mode;     // when its programs were loaded
    std::string tracer_note;               // e.g. the preferred forms failed to load
    std::string socket_filter;             // nic: which sockets it counted
    std::string kernel_release;            // uname -r: where the receive path copies
    std::optional<SendLimits> send_limits; // zero-copy cells: what ENOBUFS depends on
    // Bytes of the sends that can straddle the start of the counting (the connections carry
    // on from a warm-up: one message per connection); 0 when the counting starts idle.
    uint64_t straddling_bytes = 0;
    std::optional<UdpSendSettings> udp_send; // udp cells
};

struct LedgerResult {
    Ledger ledger;
    std::vector<Check> checks; // evaluated checks; the others are in ledger.checks_not_evaluated
};

LedgerResult compute_ledger(const LedgerInput& in);

} // namespace copyscope
