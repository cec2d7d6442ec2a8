#include "ledger/figures.h"

#include <algorithm>

#include "common/format.h"
#include "ledger/copy_model.h"

namespace copyscope {
namespace {

// value as counted by `hook`, or the hook's reason for giving no counts.
Measured<uint64_t> by(const HookSource& hook, uint64_t value) {
    return hook.with(value);
}

// A copy site that only the exact form of its hook sees.
Measured<uint64_t> exact_only(const HookSource& hook, uint64_t value, const char* why) {
    if (hook && *hook == HookMechanism::inferred) return Unsupported{why};
    return by(hook, value);
}

constexpr const char* tstamp_unseen =
    "not seen from tracepoints: the TX timestamp's clone is copied inside __skb_tstamp_tx";
constexpr const char* skb_copy_unseen =
    "not seen from tracepoints: skb_copy leaves the source skb zerocopy";

// The figures of the zerocopy bytes' way: what left, where copies were made, what TCP saw.
void copy_figures(ByteFigures& f, const Tally& t, const CopySites& sites, const KernelCounts& k) {
    f.zerocopy_transmitted_bytes = by(t.transmit, k.xmit_zc_bytes);
    f.copy_site_receive_bytes = by(t.deferred, sites.receive);
    f.copy_site_tap_tx_bytes = by(t.deferred, sites.tap_tx);
    f.copy_site_tap_rx_bytes = by(t.deferred, sites.tap_rx);
    f.copy_site_tun_bytes = by(t.deferred, sites.tun);
    f.copy_site_timestamp_bytes = exact_only(t.deferred, sites.timestamp, tstamp_unseen);
    f.copy_site_no_sg_bytes = by(t.transmit_copies, sites.no_sg);
    f.copy_site_skb_copy_bytes = exact_only(t.transmit_copies, sites.skb_copy, skb_copy_unseen);
    f.delivered_copied_bytes = by(t.delivery, k.rx_zc_delivered_bytes);
    f.delivered_uncopied_bytes = by(t.delivery, k.rx_zc_delivered_flagged_bytes);
}

// Pinned pages: counted at the pin site (exact) or from the iovecs' addresses (inferred),
// which cannot count pages of iterators it does not read.
uint64_t pinned_pages_of(const KernelCounts& k, const HookSource& h) {
    return h && *h == HookMechanism::fexit ? k.pin_pages : k.pin_pages_tp;
}

Measured<uint64_t> pinned_pages(const Tally& t, const KernelCounts& k) {
    return pinned_pages_figure(t.pinned_pages, k);
}

void describe_tracer(Ledger& L, const LedgerInput& in) {
    L.strategy = in.strategy;
    L.transport = in.transport;
    L.app_bytes_sent = in.app.bytes_sent;
    L.app_bytes_received = in.app.bytes_received;
    L.user_copy_bytes = in.app.user_copy_bytes;
    L.tracer.available = in.tracer.has_value();
    if (in.tracer) {
        L.tracer.missed_events = in.tracer->missed_events;
        L.hooks = in.tracer->hooks;
    } else {
        L.tracer.reason = in.tracer_unavailable;
    }
    L.tracer.hook_mode = in.hook_mode;
    L.tracer.note = in.tracer_note;
    L.tracer.socket_filter = in.socket_filter;
}

// Top-level byte figures are about the application's messages (the request direction);
// answers coming back are under "responses".
void totals(Ledger& L, const Tally& t) {
    // The messages' receive copies are not seen when the receiver is elsewhere.
    const HookSource message_receive = t.receive && t.far ? Unsupported{far_reason} : t.receive;
    L.figures.kernel_send_copy_bytes = by(t.send, t.req_send_copy);
    L.figures.zerocopy_pinned_bytes = by_decision_rule(t.send, t.pinned);
    L.figures.pinned_pages = pinned_pages(t, t.total);
    L.figures.zerocopy_fallback_bytes = by_decision_rule(t.send, t.fallback);
    L.figures.zerocopy_no_sockopt_bytes = by(t.send, t.no_sockopt);
    L.figures.deferred_copy_bytes = by(t.deferred, t.deferred_total);
    copy_figures(L.figures, t, t.sites, t.total);
    L.figures.receive_copy_bytes = by(message_receive, t.req_recv);
    L.figures.receive_copy_zerocopy_bytes = by(t.receive, t.total.recv_zc_flagged_bytes);
    L.figures.retransmit_bytes = by(t.retransmits, t.total.retrans_bytes);
    L.figures.spliced_bytes = by(t.splice, t.spliced);
    L.figures.registered_bytes = by(t.send, t.registered);
    L.figures.receive_mapped_bytes = by(t.mapped, t.total.zcrx_mapped_bytes);
    L.deferred_copy_retransmit_bytes = by(t.delivery, t.deferred_retransmitted);
    L.receiver_in_this_kernel = t.receiver_here;
    if (t.nic)
        L.receiver_evidence = t.receiver_here
                                  ? Measured<std::string>(t.receiver_evidence, Evidence::inferred)
                                  : Measured<std::string>(Unsupported{t.receive.reason()});
}

Responses responses(const Tally& t) {
    Responses r;
    r.bytes = t.answers;
    r.send_copy_bytes =
        t.far ? Unsupported{"sent by the peer outside this kernel"} : by(t.send, t.ans_send_copy);
    r.receive_copy_bytes = by(t.receive, t.ans_recv);
    r.measured = t.shared_ns ? "subtracted: one namespace carries both directions, so the "
                               "answers are taken off its totals"
                             : "apart: each direction's copies in its own namespace or sockets";
    r.note = "bytes the receiver sent back (rr answers, a sink's tally); kept out of every "
             "top-level figure and of copies_per_byte";
    return r;
}

NamespaceLedger namespace_ledger(const Tally& t, size_t i) {
    const SideTally& s = t.sides[i];
    const KernelCounts& k = s.counts;
    NamespaceLedger n;
    n.role = s.role;
    n.inode = s.inode;
    const uint64_t deferred = s.deferred - (i == t.recopied_side ? t.deferred_retransmitted : 0);
    const bool sends = s.sends_requests();
    n.figures.kernel_send_copy_bytes = by(t.send, s.req_send_copy);
    n.figures.zerocopy_pinned_bytes = by_decision_rule(t.send, sends ? k.zc_pinned_bytes + s.udp_pinned : 0);
    n.figures.pinned_pages = pinned_pages(t, k);
    n.figures.zerocopy_fallback_bytes =
        by_decision_rule(t.send, sends ? k.zc_fallback_bytes + k.zc_no_sockopt_bytes + s.udp_fallback : 0);
    n.figures.zerocopy_no_sockopt_bytes = by(t.send, sends ? k.zc_no_sockopt_bytes : 0);
    n.figures.deferred_copy_bytes = by(t.deferred, deferred);
    copy_figures(n.figures, t, s.sites, k);
    n.figures.receive_copy_bytes = by(t.receive, s.req_recv);
    n.figures.receive_copy_zerocopy_bytes = by(t.receive, k.recv_zc_flagged_bytes);
    n.figures.retransmit_bytes = by(t.retransmits, k.retrans_bytes);
    n.figures.spliced_bytes = by(t.splice, s.sends_requests() ? k.splice_bytes : 0);
    n.figures.registered_bytes = by(t.send, s.sends_requests() ? k.reg_zc_bytes : 0);
    n.figures.receive_mapped_bytes = by(t.mapped, k.zcrx_mapped_bytes);
    n.raw = k;
    if (t.answers > 0) {
        n.response_send_copy_bytes = by(t.send, s.ans_send_copy);
        n.response_receive_copy_bytes = by(t.receive, s.ans_recv);
    }
    if (s.role == NamespaceRole::local_sink)
        n.note = "sockets bound to the peer's address in copyscope's own namespace (a sink "
                 "running in this kernel); device-level counts stay with \"sender\"";
    return n;
}

// The runner's error-queue reads, and the kernel's own count where the completion hook runs.
ZerocopyNotifications notifications(const ZerocopyStats& z, const Tally& t) {
    ZerocopyNotifications n;
    n.runner = z;
    n.source = "runner: MSG_ERRQUEUE reads";
    if (t.completions && *t.completions != HookMechanism::userspace)
        n.kernel = KernelCompletions{t.total.zc_completed_sends, t.total.zc_completed_copied,
                                     *t.completions};
    return n;
}

// The sender's usage flags as the copy model takes them: the bytes of a request flagged
// COPIED only because stacked rode in another request's skb and count as copied only when
// every request with an skb of its own was flagged too (each such skb was then copied).
std::optional<IoUringStats> model_usage_flags(const LedgerInput& in, const Ledger& L) {
    std::optional<IoUringStats> u = in.io_uring;
    if (!u || !L.io_uring_notifications || !L.io_uring_notifications->stacked) return u;
    const Measured<StackedNotifications>& s = *L.io_uring_notifications->stacked;
    if (!s || s->stacked == 0 || u->notifications_copied == u->notifications) return u;
    u->copied_request_bytes -= std::min(u->copied_request_bytes, s->stacked_bytes);
    return u;
}

// Copies per byte of the application's messages. With the receiver outside this kernel
// only this host's share is known: copies_per_byte says so, this_host_copies_per_byte
// gives the share.
void copies_per_byte(Ledger& L, const LedgerInput& in, const Tally& t) {
    const AppCounts& app = in.app;
    L.copies_per_byte_expected = expected_copies_per_byte(
        in.strategy, app, in.zerocopy, !t.far,
        t.sites.beside_path() > 0 || t.sites.no_sg > 0 || udp_recopied(t),
        model_usage_flags(in, L), in.protocol == Protocol::udp || in.receive == Receive::zerocopy);
    L.copy_model = copy_model_words(in.strategy, !t.far);
    if (app.bytes_sent == 0) {
        L.copies_per_byte = Unsupported{"no bytes were sent"};
        return;
    }
    for (const HookSource* hook : {&t.send, &t.deferred, &t.receive})
        if (!*hook) {
            L.copies_per_byte = Unsupported{hook->reason()};
            return;
        }
    const double sent = static_cast<double>(app.bytes_sent);
    const uint64_t here = app.user_copy_bytes + t.req_send_copy + t.fallback + t.deferred_total +
                          (t.far ? 0 : t.req_recv);
    const double cpb = here / sent;
    // An inferred deferred copy weakens the figure only where it adds to it.
    const Evidence deferred = t.deferred_total > 0 ? t.deferred.evidence() : Evidence::exact;
    const Evidence evidence = weaker(t.send.evidence(), weaker(deferred, t.receive.evidence()));
    L.copies_per_byte =
        t.far ? Measured<double>(Unsupported{std::string(far_reason) +
                                             "; this host's share is this_host_copies_per_byte"})
              : Measured<double>(cpb, evidence);
    if (t.nic) L.this_host_copies_per_byte = cpb;
    CopiesPerByteParts parts;
    parts.user = app.user_copy_bytes / sent;
    parts.kernel_send = t.req_send_copy / sent;
    parts.zerocopy_fallback = t.fallback / sent;
    parts.deferred = t.deferred_total / sent;
    parts.receive = t.far ? Measured<double>(Unsupported{far_reason})
                          : Measured<double>(t.req_recv / sent, t.receive.evidence());
    L.copies_per_byte_parts = parts;
}

// The notifications flagged COPIED because stacked, when every notification the sender read
// was classified: one the kernel posted with no request (CQ overflow) or whose send's CQE
// was not seen is unclassified, and then the figure cannot be given.
Measured<StackedNotifications> stacked_notifications(const IoUringStats& u, const Tally& t) {
    if (!t.io_uring_stacked) return Unsupported{t.io_uring_stacked.reason()};
    const KernelCounts& k = t.total;
    if (k.uring_notifs_classified != u.notifications)
        return Unsupported{
            std::to_string(u.notifications - std::min(u.notifications, k.uring_notifs_classified)) +
            " of " + std::to_string(u.notifications) +
            " notifications unclassified (posted with no request: CQ overflow; or their "
            "send's CQE not seen), " +
            std::to_string(k.uring_notifs_classified) + " classified"};
    return t.io_uring_stacked.with(
        StackedNotifications{k.uring_notifs_classified, k.uring_notifs_classified_copied,
                             k.uring_notifs_stacked, k.uring_notifs_stacked_bytes});
}

// io_uring: the sender's CQE reads, and the kernel's count of the notifications it posted
// where that hook ran.
UringNotifications uring_notifications(const LedgerInput& in, const Tally& t) {
    const IoUringStats& u = *in.io_uring;
    UringNotifications n;
    n.runner = u;
    if (t.io_uring_notifications)
        n.kernel = KernelUringNotifications{t.total.uring_notifs, t.total.uring_notifs_copied,
                                            *t.io_uring_notifications};
    if (uses_send_zc(in.strategy) && in.tracer) n.stacked = stacked_notifications(u, t);
    return n;
}

} // namespace

Measured<uint64_t> pinned_pages_figure(const HookSource& hook, const KernelCounts& k) {
    if (hook && *hook != HookMechanism::fexit && k.pin_pages_tp_skipped_bytes > 0)
        return Unsupported{format_bytes(k.pin_pages_tp_skipped_bytes) +
                           " pinned through iterators the tracepoint form does not read (more "
                           "than 16 iovecs, or not iovecs)"};
    return by(hook, pinned_pages_of(k, hook));
}

Ledger ledger_figures(const LedgerInput& in, const Tally& t) {
    Ledger L;
    describe_tracer(L, in);
    totals(L, t);
    if (t.answers > 0) L.responses = responses(t);
    for (size_t i = 0; i < t.sides.size(); ++i)
        L.by_namespace.push_back(namespace_ledger(t, i));
    if (in.zerocopy) L.zerocopy_notifications = notifications(*in.zerocopy, t);
    if (in.io_uring) L.io_uring_notifications = uring_notifications(in, t);
    if (in.strategy == Strategy::zero_copy) L.send_limits = in.send_limits;
    copies_per_byte(L, in, t);
    if (t.send && t.deferred && t.by_reference() > 0)
        L.deferred_copy_percent = 100.0 * t.deferred_total / t.by_reference();
    return L;
}

} // namespace copyscope
