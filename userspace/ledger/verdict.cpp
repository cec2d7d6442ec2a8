#include "ledger/verdict.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/format.h"
#include "ledger/udp_fallback.h"

namespace copyscope {

// Where the receive path copied in this side, on this kernel.
std::string where_received(NamespaceRole role, Transport t, std::optional<bool> local) {
    const std::string at = local == true    ? "at local delivery"
                           : local == false ? "at the first receive"
                                            : "on the receive path";
    const std::string fn = local == true    ? " (ip_local_deliver_finish: 6.17+)"
                           : local == false ? " (__netif_receive_skb_core: before 6.17)"
                                            : "";
    switch (role) {
    case NamespaceRole::sender:
        if (t == Transport::nic)
            return "on this host, in copyscope's own namespace (a local route, a packet tap or "
                   "a device without scatter-gather)";
        return at + fn + " in the sender's namespace";
    case NamespaceRole::router:
        return "in the router's namespace (at the first receive, before forwarding" +
               std::string(local == false ? ": __netif_receive_skb_core before 6.17)" : ")");
    case NamespaceRole::receiver:
        return at + fn + " in the receiver's namespace";
    case NamespaceRole::shared:
        return at + fn + " in the lab's one namespace";
    case NamespaceRole::local_sink:
        return at + " in copyscope's own namespace (the sink runs in this kernel)";
    }
    return "?";
}

namespace {

// No kernel-side byte counts: the kernel's own notifications still tell.
std::string from_notifications(const LedgerInput& in, const std::string& on,
                               const std::string& why) {
    if (!in.zerocopy || in.zerocopy->completions == 0)
        return "MSG_ZEROCOPY effectiveness unknown" + on + ": " + why;
    const double copied = 100.0 * in.zerocopy->completions_copied / in.zerocopy->completions;
    return std::string(copied >= 99.5  ? "MSG_ZEROCOPY not effective"
                       : copied <= 0.5 ? "MSG_ZEROCOPY effective"
                                       : "MSG_ZEROCOPY partly effective") +
           on + ": " + format_percent(copied) +
           " of sends completed COPIED (byte counts unavailable: " + why + ")";
}

using Share = std::pair<uint64_t, std::string>;

// The receive-path copies per side, and the copies made elsewhere, by site.
void site_shares(const LedgerInput& in, const Tally& t, std::vector<Share>& where) {
    for (size_t i = 0; i < t.sides.size(); ++i) {
        const SideTally& s = t.sides[i];
        uint64_t d = s.sites.receive;
        if (i == t.recopied_side) d -= std::min(d, t.deferred_retransmitted);
        if (d == 0) continue;
        // nic with the sink here: the copy is local delivery in our own namespace.
        const NamespaceRole role =
            t.nic && t.receiver_here == true ? NamespaceRole::local_sink : s.role;
        where.emplace_back(d, where_received(role, in.transport, t.local_delivery));
    }
    const CopySites& c = t.sites;
    const std::pair<uint64_t, const char*> others[] = {
        {c.tap_rx, "for a packet tap (an AF_PACKET socket such as tcpdump) on the receiving "
                   "device"},
        {c.tap_tx, "for a packet tap on the sending device (a copy of a clone, beside the "
                   "zerocopy path)"},
        {c.tun, "by a tun device (tun_net_xmit)"},
        {c.timestamp, "for TX timestamps (SO_TIMESTAMPING without OPT_TSONLY)"},
        {c.no_sg, "before transmit: the device has no scatter-gather (software segmentation or "
                  "linearization)"},
        {c.skb_copy, "by skb_copy (a driver, qdisc or netfilter target)"},
    };
    for (const auto& [bytes, text] : others)
        if (bytes) where.emplace_back(bytes, text);
}

// The udp fallback's cause as the ledger names it, or why it cannot.
std::string udp_cause_in_words(const LedgerInput& in, const Tally& t) {
    const auto u = udp_zerocopy_send(in, t);
    if (!u) return "cause not named: the cell's send settings are not known";
    if (!u->cause) return "cause not named: " + u->cause.reason();
    return *u->cause + " (" + std::string(to_string(u->cause.evidence())) + ")";
}

// The copies, as "<share> of zerocopy bytes copied <where>": at send time first, then the
// later copies, the largest share first.
std::string copies_in_words(const LedgerInput& in, const Tally& t) {
    const uint64_t zc_bytes = t.pinned + t.fallback;
    std::vector<std::string> parts;
    const uint64_t route = t.fallback - t.no_sockopt;
    if (route > 0)
        parts.push_back(format_percent(100.0 * route / zc_bytes) +
                        (t.udp ? " of zerocopy bytes copied at send time (udp fallback: " +
                                     udp_cause_in_words(in, t) + ")"
                               : " of zerocopy bytes copied at send time (the route has no "
                                 "scatter-gather)"));
    if (udp_recopied(t))
        parts.push_back("then the bytes copied at send into page fragments copied a second time "
                        "on the receive path (the datagram kept its send's zerocopy ubuf_info, "
                        "so skb_orphan_frags_rx copies its fragments), as follows");
    if (t.no_sockopt > 0)
        parts.push_back(format_percent(100.0 * t.no_sockopt / zc_bytes) +
                        " of zerocopy bytes copied at send time (MSG_ZEROCOPY without "
                        "SO_ZEROCOPY: a plain send, no notification)");
    std::vector<Share> where;
    site_shares(in, t, where);
    std::stable_sort(where.begin(), where.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [d, text] : where)
        parts.push_back(format_percent(100.0 * d / zc_bytes) + " of zerocopy bytes copied " + text);
    std::string joined;
    for (size_t i = 0; i < parts.size(); ++i)
        joined += (i ? "; " : "") + parts[i];
    return joined;
}

// Sends that failed with ENOBUFS (the runner retried them), and what limits them.
std::string enobufs_in_words(const LedgerInput& in, const Tally& t) {
    if (!in.zerocopy || in.zerocopy->enobufs == 0) return "";
    std::string s =
        "; " + std::to_string(in.zerocopy->enobufs) + " sends failed with ENOBUFS and were retried";
    const KernelCounts& k = t.total;
    if (t.send && k.zc_enobufs_optmem + k.zc_enobufs_other > 0)
        s += " (" + std::to_string(k.zc_enobufs_optmem) +
             " with the socket's option memory at optmem_max)";
    if (const auto& l = in.send_limits) {
        if (l->optmem_max)
            s += "; net.core.optmem_max " + std::to_string(*l->optmem_max) +
                 (l->optmem_max.source().empty() ? "" : " (" + l->optmem_max.source() + ")");
        if (l->cap_ipc_lock)
            s += "; locked memory not charged (CAP_IPC_LOCK)";
        else if (l->memlock_limit)
            s += "; RLIMIT_MEMLOCK " +
                 (*l->memlock_limit ? format_bytes(**l->memlock_limit) : std::string("unlimited"));
    }
    return s;
}

bool inferred(const HookSource& h) {
    return h && h.evidence() == Evidence::inferred;
}

// Where a copy figure is inferred, say so, and what was observed of it.
std::string evidence_in_words(const Tally& t) {
    std::string s;
    if (inferred(t.deferred) && t.sites.receive + t.sites.tap_rx > 0) {
        s += "; inferred from the zerocopy skbs received";
        if (t.delivery && t.receive)
            s += " (seen: " +
                 format_bytes(t.total.rx_zc_delivered_flagged_bytes +
                              t.total.recv_zc_flagged_bytes) +
                 " of user pages reached the receiver uncopied)";
    }
    if (inferred(t.deferred) && t.sites.tap_tx + t.sites.tun > 0)
        s += "; tap and tun copies inferred from the zerocopy skbs a listening tap or a tun "
             "device was given";
    if (inferred(t.transmit_copies) && t.sites.no_sg > 0)
        s += "; copies before transmit inferred from unflagged skbs of zerocopy sockets leaving "
             "a device without scatter-gather";
    return s;
}

} // namespace

std::optional<std::string> zerocopy_verdict(const LedgerInput& in, const Tally& t) {
    if (in.strategy != Strategy::zero_copy) return std::nullopt;
    const std::string on = " on " + std::string(to_string(in.transport));
    if (!t.send) return from_notifications(in, on, t.send.reason());
    if (!t.deferred) return from_notifications(in, on, t.deferred.reason());
    const uint64_t zc_bytes = t.pinned + t.fallback;
    if (zc_bytes == 0)
        return "MSG_ZEROCOPY not used" + on + ": no bytes were sent with MSG_ZEROCOPY" +
               enobufs_in_words(in, t);
    const double deferred_capped = std::min<double>(t.deferred_total, t.pinned);
    const double fallback_pct = 100.0 * t.fallback / zc_bytes;
    const double deferred_pct = 100.0 * deferred_capped / zc_bytes;
    const double effective_pct = 100.0 - fallback_pct - deferred_pct;
    const std::string joined = copies_in_words(in, t) + evidence_in_words(t);
    const std::string tail = enobufs_in_words(in, t);
    if (t.far && t.fallback == 0 && t.deferred_total == 0)
        return "MSG_ZEROCOPY effective" + on +
               ": 100% of bytes sent by reference, no copy on this host" + tail;
    if (effective_pct >= 99.5)
        return "MSG_ZEROCOPY effective" + on + " for " + format_percent(effective_pct) +
               " of bytes" + (joined.empty() ? "" : "; " + joined) + tail;
    if (effective_pct <= 0.5) return "MSG_ZEROCOPY not effective" + on + ": " + joined + tail;
    return "MSG_ZEROCOPY partly effective" + on + ": " + format_percent(effective_pct) +
           " of zerocopy bytes avoided a copy; " + joined + tail;
}

} // namespace copyscope
