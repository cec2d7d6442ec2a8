#include "ledger/tally.h"

#include <algorithm>

#include "common/format.h"
#include "ledger/copy_model.h"

namespace copyscope {
namespace {

HookSource source_of(const LedgerInput& in, const char* name) {
    if (!in.tracer)
        return Unsupported{in.tracer_unavailable.empty() ? "tracer not running"
                                                         : in.tracer_unavailable};
    return hook_source(in.tracer->hooks, name);
}

// Splits a side's copies: a namespace that holds one end sees one direction each way; a
// shared one holds both, so the answers (the runner's count) are taken off its totals.
void split_directions(SideTally& s, uint64_t answers) {
    const KernelCounts& k = s.counts;
    switch (s.role) {
    case NamespaceRole::sender:
        s.req_send_copy = k.send_copy_bytes;
        s.ans_recv = k.recv_bytes;
        break;
    case NamespaceRole::receiver:
    case NamespaceRole::local_sink:
        s.ans_send_copy = k.send_copy_bytes + k.zc_pinned_bytes + k.zc_fallback_bytes;
        s.req_recv = k.recv_bytes;
        break;
    case NamespaceRole::shared:
        s.ans_send_copy = std::min(k.send_copy_bytes, answers);
        s.req_send_copy = k.send_copy_bytes - s.ans_send_copy;
        s.ans_recv = std::min(k.recv_bytes, answers);
        s.req_recv = k.recv_bytes - s.ans_recv;
        break;
    case NamespaceRole::router:
        // Sockets in the router would be neither end's: keep them visible as requests,
        // where the exact checks will catch them.
        s.req_send_copy = k.send_copy_bytes;
        s.req_recv = k.recv_bytes;
        break;
    }
}

// udp: the socket copies and the zerocopy split come from the udp hooks. The pinned bytes
// are those the xmit hook saw pinned (never more than were asked for); the rest of the
// MSG_ZEROCOPY bytes were copied at send.
void add_udp(SideTally& s) {
    const KernelCounts& k = s.counts;
    if (s.sends_requests()) {
        s.req_send_copy += k.udp_send_bytes - std::min(k.udp_zc_send_bytes, k.udp_send_bytes);
        s.udp_pinned = std::min(k.udp_xmit_pinned_bytes, k.udp_zc_send_bytes);
        s.udp_fallback = k.udp_zc_send_bytes - s.udp_pinned;
    }
    if (s.role != NamespaceRole::sender) s.req_recv += k.udp_recv_bytes;
}

// nic: is the peer in this kernel? The tracer tells by receive copies on a sink's sockets
// here, by more receive copies than answers on ours, or by zerocopy skbs received in this
// namespace (looped back, never from a real NIC).
void place_receiver(Tally& t, const LedgerInput& in) {
    t.nic = in.transport == Transport::nic;
    if (!t.nic) {
        t.receiver_here = true;
        return;
    }
    if (!in.tracer) return;
    const TracerView& tv = *in.tracer;
    const uint64_t sink_recv = tv.local_sink ? tv.local_sink->recv_bytes : 0;
    const uint64_t extra_recv =
        tv.sender.recv_bytes > t.answers ? tv.sender.recv_bytes - t.answers : 0;
    t.receiver_here = sink_recv > 0 || extra_recv > 0 || tv.sender.rx_zc_bytes > 0;
    if (*t.receiver_here)
        t.receiver_evidence =
            "the peer is in this kernel: " + format_bytes(sink_recv + extra_recv) +
            " of message receive copies and " + format_bytes(tv.sender.rx_zc_bytes) +
            " of zerocopy skbs received in copyscope's own namespace";
    else
        t.receiver_evidence = "no receive copy beyond the " + format_bytes(t.answers) +
                              " of answers and no zerocopy skb received in copyscope's own "
                              "namespace: the peer is outside this kernel";
    t.far = !*t.receiver_here;
}

// The sides of the lab: sender and receiver namespaces (veth), with a router between them
// (forward), one shared namespace (loopback), or this host's own namespace (nic), whose
// sockets of a sink listening here, if any, are counted apart.
std::vector<SideTally> sides_of(const TracerView& tv, const Tally& t) {
    auto side = [](NamespaceRole role, uint64_t inode, const KernelCounts& k) {
        SideTally s;
        s.role = role;
        s.inode = inode;
        s.counts = k;
        return s;
    };
    std::vector<SideTally> sides;
    if (t.nic) {
        // Without a split of the sink's sockets, a local sink shares our counters.
        const bool shared = t.receiver_here == true && !tv.local_sink;
        sides.push_back(
            side(shared ? NamespaceRole::shared : NamespaceRole::sender, tv.sender_ns, tv.sender));
        // A sink's sockets here are a side of their own only when it is here at all.
        if (tv.local_sink && t.receiver_here == true)
            sides.push_back(side(NamespaceRole::local_sink, tv.sender_ns, *tv.local_sink));
    } else if (tv.receiver_ns == tv.sender_ns) {
        sides.push_back(side(NamespaceRole::shared, tv.sender_ns, tv.sender));
    } else {
        sides.push_back(side(NamespaceRole::sender, tv.sender_ns, tv.sender));
        if (tv.router_ns) sides.push_back(side(NamespaceRole::router, tv.router_ns, tv.router));
        sides.push_back(side(NamespaceRole::receiver, tv.receiver_ns, tv.receiver));
    }
    return sides;
}

std::optional<HookMechanism> mechanism_of(const HookSource& h) {
    return h ? std::optional(*h) : std::nullopt;
}

// Sums the sides. The delivery hook sees zerocopy bytes the kernel copied a second time: a
// retransmitted segment TCP had already received, an skb dropped after its copy (and sent
// again). Those bytes belong with the retransmits (kept apart), not with the application's
// one deferred copy per pinned byte. They come off the side that copied the most on the
// way, where delivery (and so the second copy) happened.
void add_up(Tally& t) {
    const auto def_mech = mechanism_of(t.deferred);
    const auto tx_mech = mechanism_of(t.transmit_copies);
    size_t most = 0;
    uint64_t most_on_path = 0;
    for (size_t i = 0; i < t.sides.size(); ++i) {
        SideTally& s = t.sides[i];
        split_directions(s, t.answers);
        if (t.udp) add_udp(s);
        s.sites = copy_sites(s.counts, def_mech, tx_mech);
        s.deferred = s.sites.total();
        t.total += s.counts;
        t.sites += s.sites;
        t.req_send_copy += s.req_send_copy;
        t.ans_send_copy += s.ans_send_copy;
        t.req_recv += s.req_recv;
        t.ans_recv += s.ans_recv;
        if (s.role != NamespaceRole::receiver && s.role != NamespaceRole::local_sink) {
            t.pinned += s.counts.zc_pinned_bytes + s.udp_pinned;
            t.fallback +=
                s.counts.zc_fallback_bytes + s.counts.zc_no_sockopt_bytes + s.udp_fallback;
            t.no_sockopt += s.counts.zc_no_sockopt_bytes;
            t.spliced += s.counts.splice_bytes;
            t.registered += s.counts.reg_zc_bytes;
        }
        if (s.role == NamespaceRole::shared) t.shared_ns = true;
        if (s.sites.on_path() > most_on_path) {
            most_on_path = s.sites.on_path();
            most = i;
        }
    }
    t.recopied_side = most;
    const uint64_t total = t.sites.total();
    if (t.delivery) t.recopied = recopied_bytes(t.total);
    t.deferred_retransmitted = std::min(t.recopied, most_on_path);
    t.deferred_total = total - t.deferred_retransmitted;
}

} // namespace

HookSource hook_source(const std::vector<HookUse>& hooks, const char* name) {
    for (const HookUse& h : hooks)
        if (h.hook == name) {
            if (!h.form) return Unsupported{h.form.reason()};
            return HookSource(h.form->mechanism, h.form.evidence(), name);
        }
    return Unsupported{std::string("hook ") + name + " not planned"};
}

Measured<uint64_t> by_decision_rule(const HookSource& send, uint64_t value) {
    if (!send) return Unsupported{send.reason()};
    return Measured<uint64_t>(value, Evidence::inferred,
                              send.source() + std::string(decision_rule_source));
}

Tally tally(const LedgerInput& in) {
    Tally t;
    t.send = source_of(in, hook_send);
    t.pinned_pages = source_of(in, hook_pinned_pages);
    t.transmit = source_of(in, hook_transmit);
    t.deferred = source_of(in, hook_deferred);
    t.transmit_copies = source_of(in, hook_transmit_copies);
    t.delivery = source_of(in, hook_delivery);
    t.receive = source_of(in, hook_receive);
    t.retransmits = source_of(in, hook_retransmits);
    t.completions = source_of(in, hook_completions);
    t.splice = source_of(in, hook_splice);
    t.io_uring_notifications = source_of(in, hook_io_uring_notifications);
    t.io_uring_stacked = source_of(in, hook_io_uring_stacked);
    t.mapped = source_of(in, hook_receive_mapped);
    if (in.protocol == Protocol::udp) {
        // udp's own send and receive hooks; its pinned bytes need the xmit hook too.
        t.udp = true;
        const HookSource udp_send = source_of(in, hook_udp_send);
        const HookSource udp_pinned = source_of(in, hook_udp_pinned);
        t.send = !udp_send ? udp_send
                 : !udp_pinned
                     ? udp_pinned
                     : HookSource(*udp_send, weaker(udp_send.evidence(), udp_pinned.evidence()),
                                  hook_udp_send);
        t.receive = source_of(in, hook_udp_receive);
        // The delivery hook follows zerocopy skbs to TCP; a dropped datagram is not sent
        // again, so nothing of udp's is a re-copy.
        t.delivery = HookSource(Unsupported{"udp: the delivery hook follows zerocopy skbs to "
                                            "TCP only, and udp re-sends nothing"});
    }
    t.local_delivery = copies_at_local_delivery(in.kernel_release);
    t.answers = in.app.response_bytes;
    place_receiver(t, in);
    if (in.tracer) t.sides = sides_of(*in.tracer, t);
    add_up(t);
    return t;
}

} // namespace copyscope
