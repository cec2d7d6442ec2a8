#pragma once
// The ledger's first stage: from the tracer's raw counts per namespace and its hook uses,
// which hooks could count (and how), where the receiver is, each side's copies split by
// direction and by copy site, and the totals the figures, checks and verdict are made of.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ledger/copy_model.h"
#include "ledger/ledger.h"

namespace copyscope {

// A hook as a source of counts: its mechanism, with the hook's evidence, or why it gave
// none (the tracer did not run, the hook was not planned, or it is unsupported here).
using HookSource = Measured<HookMechanism>;

// The source of hook `name` among the tracer's hook uses.
HookSource hook_source(const std::vector<HookUse>& hooks, const char* name);

// A MSG_ZEROCOPY send's bytes split into pinned and fallback: the send hook counts the bytes
// exactly, but the split is the kernel's decision rule (MSG_ZEROCOPY with SO_ZEROCOPY or
// msg_ubuf, route NETIF_F_SG) applied to the send's inputs, not an observation of the pin;
// the transmit hook checks it against what leaves. So it is inferred on every form.
Measured<uint64_t> by_decision_rule(const HookSource& send, uint64_t value);

// One side of the lab: a namespace, or for nic a set of sockets in this host's namespace.
// Its socket copies are split by direction: requests are the application's messages,
// answers what the receiver sent back (rr answers, a sink's tally).
struct SideTally {
    NamespaceRole role = NamespaceRole::sender;
    uint64_t inode = 0;
    KernelCounts counts;
    uint64_t req_send_copy = 0, ans_send_copy = 0;
    uint64_t req_recv = 0, ans_recv = 0;
    CopySites sites;                           // copies of zerocopy pages here, re-copies included
    uint64_t deferred = 0;                     // sites.total()
    uint64_t udp_pinned = 0, udp_fallback = 0; // udp cells: MSG_ZEROCOPY bytes pinned, copied

    // The messages' sends (and so their pinned and fallback bytes) are counted here.
    bool sends_requests() const {
        return role == NamespaceRole::sender || role == NamespaceRole::shared;
    }
};

struct Tally {
    HookSource send, pinned_pages, transmit, deferred, transmit_copies, delivery, receive,
        retransmits, completions;
    HookSource splice, io_uring_notifications, io_uring_stacked;
    HookSource mapped; // TCP_ZEROCOPY_RECEIVE
    bool udp = false;  // the send and receive hooks are udp's

    bool nic = false;
    // Is the receiver in this kernel? Always, except for nic, where the tracer tells;
    // nullopt when it cannot.
    std::optional<bool> receiver_here;
    std::string receiver_evidence; // nic: how the tracer told
    bool far = false;              // nic with the receiver outside this kernel
    // Where the receive path copies on this kernel (6.17+: local delivery); nullopt: unknown.
    std::optional<bool> local_delivery;

    std::vector<SideTally> sides;
    KernelCounts total;     // every side's counts
    uint64_t answers = 0;   // bytes the receiver sent back (runner's count)
    bool shared_ns = false; // one namespace carries both directions: answers taken off
    uint64_t req_send_copy = 0, ans_send_copy = 0, req_recv = 0, ans_recv = 0;
    uint64_t pinned = 0, fallback = 0, no_sockopt = 0;
    CopySites sites;         // every side's
    uint64_t recopied = 0;   // re-copies the delivery hook observed
    uint64_t spliced = 0;    // sendfile: page-cache pages by reference
    uint64_t registered = 0; // io_uring registered buffers by reference
    // Bytes sent by reference from the application's memory, which a later copy (local
    // delivery, a tap) may still copy: pinned per send or at registration.
    uint64_t by_reference() const { return pinned + registered; }
    uint64_t deferred_total = 0;         // the messages' deferred copies, re-copies taken off
    uint64_t deferred_retransmitted = 0; // re-copies taken off (retransmitted or dropped)
    size_t recopied_side = 0;            // the side the re-copies are taken off
};

// udp: bytes copied at send and copied again on the receive path (nothing was pinned, yet
// zerocopy skbs with fragments arrived: corked appends copied into page fragments keep the
// send's ubuf_info, and skb_orphan_frags_rx copies them at delivery).
inline bool udp_recopied(const Tally& t) {
    return t.udp && t.pinned == 0 && t.deferred && t.deferred_total > 0;
}

inline constexpr const char* far_reason =
    "the receiver is outside this kernel (nic): its copies are not seen here";

Tally tally(const LedgerInput& in);

} // namespace copyscope
