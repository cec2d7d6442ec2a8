#include "ledger/checks.h"

#include <cmath>

#include "common/format.h"
#include "ledger/copy_model.h"
#include "ledger/paths_checks.h"
#include "ledger/udp_fallback.h"

namespace copyscope {
namespace {

bool within(double value, double expected, double tolerance) {
    if (expected == 0) return value == 0;
    return std::fabs(value - expected) <= tolerance * std::fabs(expected);
}

// Where one namespace carries both directions, the detail says the answers came off.
std::string answers_off(const Tally& t) {
    if (!t.shared_ns || t.answers == 0) return "";
    return " (answers " + format_bytes(t.answers) +
           " taken off: one namespace carries both directions)";
}

// Zerocopy receive: the kernel copied what it did not map, and mapped what the receiver
// says it mapped.
void receive_copy_mapped(const CheckContext& c, CheckLog& log) {
    const AppCounts& app = c.in.app;
    const std::string name = "ledger: receive copy bytes == bytes received - mapped";
    const Measured<uint64_t>& copied = c.ledger.figures.receive_copy_bytes;
    if (!copied) {
        log.skip(name, copied.reason());
    } else {
        log.add(name, *copied + app.receive_mapped_bytes == app.bytes_received,
                "receive copy " + format_bytes(*copied) + ", received " +
                    format_bytes(app.bytes_received) + ", mapped (receiver) " +
                    format_bytes(app.receive_mapped_bytes),
                {true, "the kernel's copies into the receiver's iovecs (skb_copy_datagram_iovec) "
                       "against what the receiver got less what it mapped"});
    }
    const std::string kernel = "ledger: kernel's mapped bytes == receiver's";
    const Measured<uint64_t>& mapped = c.ledger.figures.receive_mapped_bytes;
    if (!mapped) return log.skip(kernel, mapped.reason());
    log.add(kernel, *mapped == app.receive_mapped_bytes,
            "tcp_zerocopy_receive mapped " + format_bytes(*mapped) + ", the receiver counted " +
                format_bytes(app.receive_mapped_bytes),
            {true, "the kernel's own struct tcp_zerocopy_receive (cgroup getsockopt) against "
                   "the lengths the receiver was handed"});
}

bool exact(const HookSource& h) {
    return h && h.evidence() == Evidence::exact;
}

// The tolerance of a relation: none where every hook it rests on counts exactly, else the
// ledger's, and the words that say which.
struct Tolerance {
    double fraction = 0;
    std::string words;
};

Tolerance tolerance_of(std::initializer_list<const HookSource*> hooks) {
    for (const HookSource* h : hooks)
        if (!exact(*h))
            return {ledger_tolerance, "within " + format_percent(100 * ledger_tolerance) + ": " +
                                          std::string(h->source()) + " is inferred"};
    return {0, "to the byte: every side counted exactly"};
}

bool near(uint64_t value, uint64_t expected, const Tolerance& tol) {
    const double diff = std::fabs(static_cast<double>(value) - static_cast<double>(expected));
    return diff <= tol.fraction * static_cast<double>(expected);
}

void receive_copy(const CheckContext& c, CheckLog& log) {
    if (c.in.receive == Receive::zerocopy) return receive_copy_mapped(c, log);
    const std::string name = "ledger: receive copy bytes == bytes received";
    const Measured<uint64_t>& received = c.ledger.figures.receive_copy_bytes;
    if (!received) return log.skip(name, received.reason());
    log.add(name, *received == c.in.app.bytes_received,
            "receive copy " + format_bytes(*received) + ", received " +
                format_bytes(c.in.app.bytes_received) + answers_off(c.tally),
            {true, "the kernel's copies into the receiver's iovecs (skb_copy_datagram_iovec) "
                   "against the bytes the application received"});
}

void send_conservation(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: send copy + pinned + fallback == bytes sent";
    const Tally& t = c.tally;
    if (!t.send) return log.skip(name, t.send.reason());
    // sendfile's bytes by reference have a hook of their own (do_tcp_sendpages before 6.5).
    if (c.in.strategy == Strategy::sendfile && !t.splice) return log.skip(name, t.splice.reason());
    const uint64_t sum = t.req_send_copy + t.pinned + t.fallback + t.spliced + t.registered;
    const uint64_t unclassified = t.total.send_unclassified_bytes;
    std::string detail = "copy " + format_bytes(t.req_send_copy) + " + pinned " +
                         format_bytes(t.pinned) + " + fallback " + format_bytes(t.fallback);
    if (t.spliced || c.in.strategy == Strategy::sendfile)
        detail += " + spliced " + format_bytes(t.spliced);
    if (t.registered || c.in.strategy == Strategy::io_uring_zc_fixed)
        detail += " + registered " + format_bytes(t.registered);
    detail += " = " + format_bytes(sum) + ", sent " + format_bytes(c.in.app.bytes_sent);
    if (unclassified) detail += ", unclassified " + format_bytes(unclassified);
    if (t.retransmits)
        detail += " (retransmits " + format_bytes(t.total.retrans_bytes) + " counted apart)";
    detail += answers_off(t);
    log.add(name, sum == c.in.app.bytes_sent && unclassified == 0, detail,
            {true, "the sendmsg return values seen in the kernel against the application's "
                   "count; the split into copied, pinned and fallback is tcp_sendmsg_locked's "
                   "own decision rule applied to what it was given, checked against what "
                   "leaves the device by the transmit check"});
}

// Each direction of the answers is checked where it has a namespace (or sockets) of its own.
void answer_copies(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (t.answers == 0 || !c.in.tracer) return;
    const std::string name = "ledger: answer copies == answer bytes";
    std::vector<std::string> parts, why_not;
    bool ok = true;
    for (const SideTally& s : t.sides) {
        const std::string side(to_string(s.role));
        if (s.role == NamespaceRole::sender && t.receive) {
            ok = ok && s.ans_recv == t.answers;
            parts.push_back("received in " + side + " " + format_bytes(s.ans_recv));
        } else if ((s.role == NamespaceRole::receiver || s.role == NamespaceRole::local_sink) &&
                   t.send) {
            ok = ok && s.ans_send_copy == t.answers;
            parts.push_back("sent in " + side + " " + format_bytes(s.ans_send_copy));
        }
    }
    if (t.shared_ns) why_not.push_back("one namespace carries both directions");
    if (t.far) why_not.push_back("the answers were sent outside this kernel");
    if (t.nic && !t.far && !c.in.tracer->local_sink)
        why_not.push_back("the sink's sockets were not counted apart");
    if (parts.empty())
        return log.skip(name, why_not.empty() ? "no direction measured apart" : why_not.front());
    std::string detail;
    for (size_t i = 0; i < parts.size(); ++i)
        detail += (i ? ", " : "") + parts[i];
    detail += "; answers " + format_bytes(t.answers);
    for (const auto& w : why_not)
        detail += "; not checked: " + w;
    log.add(name, ok, detail,
            {true, "the kernel's copies of the answers in each namespace against the "
                   "runner's count of answer bytes"});
}

// What left the devices: every pinned byte leaves at least once, zerocopy or as a copy made
// on the way out (no scatter-gather), and at most once more per retransmitted byte.
void transmitted(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (c.in.strategy != Strategy::zero_copy || !c.in.tracer) return;
    const std::string name = "ledger: pinned <= zerocopy bytes transmitted <= pinned + retransmits";
    if (!t.send) return log.skip(name, t.send.reason());
    if (!t.transmit) return log.skip(name, t.transmit.reason());
    if (t.pinned == 0) return;
    const uint64_t left = t.total.xmit_zc_bytes + (t.transmit_copies ? t.sites.no_sg : 0);
    // A send in flight as the counting began is counted whole on one side of the start and
    // partly on the other: at most one message per connection either way.
    const uint64_t straddle = c.in.straddling_bytes;
    const uint64_t lower = t.pinned > straddle ? t.pinned - straddle : 0;
    const uint64_t upper = t.pinned + straddle + (t.retransmits ? t.total.retrans_bytes : 0);
    std::string detail = "transmitted zerocopy " + format_bytes(t.total.xmit_zc_bytes);
    if (t.sites.no_sg) detail += " + copied before transmit " + format_bytes(t.sites.no_sg);
    detail += ", pinned " + format_bytes(t.pinned);
    if (t.retransmits) detail += ", retransmits " + format_bytes(t.total.retrans_bytes);
    if (!t.retransmits) detail += " (retransmits not counted: upper bound is pinned)";
    if (straddle)
        detail += "; bounds widened by " + format_bytes(straddle) +
                  ": sends in flight as the counting began, after a warm-up on the same "
                  "connections (one message per connection)";
    log.add(name, lower <= left && left <= upper, detail,
            {true, "the zerocopy skbs leaving the device (net_dev_start_xmit) against the send "
                   "hook's zerocopy decision"});
}

// The receive path must not hand user pages to the receiver where a copy is claimed.
void delivered_copied(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    const uint64_t claimed = t.sites.receive + t.sites.tap_rx;
    if (!c.in.tracer || claimed == 0) return;
    const std::string name = "ledger: no user page reaches the receiver uncopied";
    if (!t.receive) return log.skip(name, t.receive.reason());
    if (!t.delivery) return log.skip(name, t.delivery.reason());
    const uint64_t at_copy = t.total.recv_zc_flagged_bytes;
    const uint64_t at_tcp = t.total.rx_zc_delivered_flagged_bytes;
    log.add(name, at_copy == 0 && at_tcp == 0,
            "receive-path copy claimed " + format_bytes(claimed) +
                "; still flagged zerocopy: " + format_bytes(at_tcp) + " at TCP (tcp_probe), " +
                format_bytes(at_copy) + " at the receive copy (skb_copy_datagram_iovec)",
            {true, "the flag of the very skbs the receiver gets (skb_copy_ubufs clears it) "
                   "against the copy the deferred figure claims"});
}

// The receive-path copies against the zerocopy skbs TCP saw arrive copied: the same bytes,
// counted at the copy (or inferred from the arrivals) and at TCP.
void receive_path_seen(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (!c.in.tracer || !t.deferred || !t.delivery) return;
    const uint64_t copied = t.sites.receive + t.sites.tap_rx;
    const KernelCounts& k = t.total;
    const uint64_t seen = k.rx_zc_delivered_bytes + k.rx_zc_dropped_copied_bytes;
    if (copied == 0 && seen == 0) return;
    const std::string name = "ledger: receive-path copies == zerocopy bytes TCP got copied";
    const Tolerance tol = tolerance_of({&t.deferred, &t.delivery});
    std::string detail = "receive path " + format_bytes(copied) + " (" +
                         std::string(to_string(*t.deferred)) + "), copied at TCP " +
                         format_bytes(k.rx_zc_delivered_bytes) + " + dropped after the copy " +
                         format_bytes(k.rx_zc_dropped_copied_bytes) + "; " + tol.words;
    log.add(name, near(copied, seen, tol), detail,
            {true, exact(t.deferred)
                       ? "skb_copy_ubufs on the receive path against the flags TCP saw "
                         "(tcp_probe, kfree_skb)"
                       : "the zerocopy bytes received (netif_receive_skb) against what became "
                         "of each such skb (tcp_probe, kfree_skb, forwarding)"});
}

// What COPIED completions allow the copies on the zerocopy path to be, given the pinned
// bytes. Copies without skb_copy_ubufs in software segmentation are not reported COPIED.
bool deferred_matches(const ZerocopyStats& z, const Tally& t, uint64_t on_path,
                      const Tolerance& tol, std::string& detail) {
    const uint64_t pinned = t.pinned;
    if (pinned == 0 && t.udp) {
        // Copied at send into page fragments (corked appends), a datagram keeps its send's
        // ubuf_info; skb_orphan_frags_rx copies any zerocopy skb's fragments at delivery.
        detail += "; nothing pinned: only bytes copied at send into page fragments can be "
                  "copied again on the receive path, at most the " +
                  format_bytes(t.fallback) + " copied at send";
        return t.deferred_total <= t.fallback;
    }
    if (pinned == 0) {
        detail += "; nothing pinned, so no deferred copy expected";
        return t.deferred_total == 0; // nothing pinned: COPIED means copied at send time
    }
    if (z.completions_copied == z.completions) {
        if (t.sites.beside_path() > 0 && on_path < pinned) {
            // A copy of a clone (a transmit tap's) marks the whole uarg COPIED.
            detail += "; all copied: by the copies beside the way, the rest went by reference";
            return true;
        }
        detail += "; all copied: copies on the way must equal pinned, " + tol.words;
        return near(on_path, pinned, tol);
    }
    const uint64_t reported = on_path > t.sites.no_sg ? on_path - t.sites.no_sg : 0;
    if (z.completions_copied == 0) {
        detail += "; none copied: no copy the notifications report (segmentation without "
                  "scatter-gather is not reported)";
        return reported + t.sites.beside_path() <= tol.fraction * pinned;
    }
    detail += "; some copied: copies on the way must be between 0 and pinned";
    return on_path > 0 && on_path <= pinned + tol.fraction * pinned;
}

void deferred_vs_notifications(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: deferred copy agrees with COPIED notifications";
    const Tally& t = c.tally;
    if (!t.deferred) return log.skip(name, t.deferred.reason());
    if (!t.send) return log.skip(name, t.send.reason());
    if (uses_send_zc(c.in.strategy)) return; // checked against the usage flags (paths_checks)
    const Independence ind =
        exact(t.deferred)
            ? Independence{true, "copies counted where the kernel made them against the "
                                 "kernel's own COPIED notifications"}
            : Independence{false, "the inferred deferred copy is the zerocopy bytes received: "
                                  "it equals the pinned bytes whether or not a copy happened; "
                                  "the evidence of the copy is the check that no user page "
                                  "reaches the receiver uncopied"};
    if (c.in.strategy != Strategy::zero_copy || !c.in.zerocopy)
        return log.add(name, t.deferred_total == 0,
                       "no zerocopy sends; deferred copy " + format_bytes(t.deferred_total) +
                           " (expected 0)",
                       ind);
    const ZerocopyStats& z = *c.in.zerocopy;
    if (z.completions == 0) return log.skip(name, "no zerocopy completions arrived");
    const uint64_t on_path = t.sites.on_path() - t.deferred_retransmitted;
    std::string detail =
        "copies on the way " + format_bytes(on_path) + " of pinned " + format_bytes(t.pinned);
    if (t.sites.beside_path())
        detail += ", beside it (taps, timestamps, skb_copy) " + format_bytes(t.sites.beside_path());
    if (t.deferred_retransmitted)
        detail += ", re-copies " + format_bytes(t.deferred_retransmitted) +
                  " taken off (retransmitted or dropped after the copy, seen at delivery)";
    detail += "; completions " + std::to_string(z.completions_copied) + " of " +
              std::to_string(z.completions) + " COPIED";
    const Tolerance tol = tolerance_of({&t.deferred, &t.transmit_copies, &t.delivery});
    const bool ok = deferred_matches(z, t, on_path, tol, detail);
    log.add(name, ok, detail, ind);
}

// A COPIED completion is the kernel saying it copied: some site must have counted it.
void unaccounted_copy(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (c.in.strategy != Strategy::zero_copy || !c.in.zerocopy || !c.in.tracer) return;
    const ZerocopyStats& z = *c.in.zerocopy;
    if (z.completions_copied == 0) return;
    const std::string name =
        "ledger: every COPIED completion has a copy counted (no unaccounted copy)";
    for (const HookSource* h : {&t.send, &t.deferred, &t.transmit_copies})
        if (!*h) return log.skip(name, h->reason());
    const uint64_t counted = t.fallback + t.sites.total();
    log.add(name, counted > 0,
            std::to_string(z.completions_copied) + " of " + std::to_string(z.completions) +
                " completions COPIED; copies counted: fallback " + format_bytes(t.fallback) +
                ", at the copy sites " + format_bytes(t.sites.total()) +
                (counted ? "" : ": unaccounted copy"),
            {true, "the kernel's COPIED notifications against the copies counted at every "
                   "site"});
}

void copies_per_byte_model(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: copies per byte matches the strategy's model";
    const Ledger& L = c.ledger;
    const bool far = c.tally.far;
    // With the receiver outside this kernel, this host's share is what is checked.
    const std::optional<double> measured =
        L.copies_per_byte ? std::optional(*L.copies_per_byte) : L.this_host_copies_per_byte;
    if (!measured) return log.skip(name, L.copies_per_byte.reason());
    if (!L.copies_per_byte_expected)
        return log.skip(name, c.tally.sites.beside_path() > 0
                                  ? "model undefined: copies beside the path (a transmit tap's "
                                    "clone, a TX timestamp's, skb_copy) flag sends COPIED "
                                    "whether or not the skb itself was copied"
                              : c.tally.sites.no_sg > 0
                                  ? "model undefined: copies in software segmentation without "
                                    "scatter-gather are not flagged COPIED"
                              : udp_recopied(c.tally)
                                  ? "model undefined: a COPIED completion counts one copy, but "
                                    "udp bytes copied at send into page fragments were copied "
                                    "again on the receive path (the skb kept its zerocopy "
                                    "ubuf_info)"
                                  : "model undefined (zero-copy cell without completions)");
    const double expected = *L.copies_per_byte_expected;
    log.add(name, within(*measured, expected, ledger_tolerance),
            std::string(far ? "this host: " : "") + "measured " + fixed(*measured, 3) +
                ", expected " + fixed(expected, 3) + " (" + std::string(to_string(c.in.strategy)) +
                (far ? ", receive copy outside this kernel" : "") + ", within 1%)",
            {false, "follows from the send, receive, received == sent and deferred checks; "
                    "the user copy is the application's own count on both sides"});
}

void missed_events(const CheckContext& c, CheckLog& log) {
    if (!c.in.tracer) return;
    const uint64_t missed = c.in.tracer->missed_events;
    log.add("tracer: no kernel events missed", missed == 0,
            std::to_string(missed) +
                " BPF program runs skipped by the kernel (recursion protection)",
            {true, "the kernel's own count of the programs' runs it skipped"});
}

// The kernel counts per send (one uarg); the runner per notification range, which keeps
// the code of its first send when ranges coalesce: their COPIED counts agree only where all
// or none of the sends were copied.
void kernel_completions(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (!c.in.tracer || c.in.strategy != Strategy::zero_copy || !c.in.zerocopy) return;
    if (!t.completions || *t.completions == HookMechanism::userspace) return;
    const ZerocopyStats& z = *c.in.zerocopy;
    const KernelCounts& k = t.total;
    const bool mixed = k.zc_completed_copied > 0 && k.zc_completed_copied < k.zc_completed_sends;
    const bool copied_ok = mixed || k.zc_completed_copied == z.completions_copied;
    log.add("ledger: kernel completions == runner completions",
            k.zc_completed_sends == z.completions && copied_ok,
            "kernel " + std::to_string(k.zc_completed_sends) + " (" +
                std::to_string(k.zc_completed_copied) + " copied), runner " +
                std::to_string(z.completions) + " (" + std::to_string(z.completions_copied) +
                " copied)" +
                (mixed ? "; COPIED counts not compared: copied and uncopied sends coalesce "
                         "into ranges that keep one code"
                       : ""),
            {true, "the kernel's count as each uarg completes against the runner's "
                   "error-queue reads"});
}

constexpr LedgerCheck all_checks[] = {
    receive_copy,
    send_conservation,
    answer_copies,
    transmitted,
    delivered_copied,
    receive_path_seen,
    deferred_vs_notifications,
    unaccounted_copy,
    copies_per_byte_model,
    missed_events,
    kernel_completions,
    // sendfile and io_uring (paths_checks.h)
    deferred_vs_usage_flags,
    kernel_uring_notifications,
    // udp: the zerocopy fallback's cause (udp_fallback.h)
    udp_fallback_matches_rules,
};

} // namespace

void CheckLog::add(std::string name, bool passed, std::string detail, Independence independence) {
    evaluated.push_back(Check{std::move(name), passed, std::move(detail), independence.independent,
                              std::move(independence.why)});
}

void CheckLog::skip(std::string name, std::string reason) {
    skipped.push_back(SkippedCheck{std::move(name), std::move(reason)});
}

std::span<const LedgerCheck> ledger_checks() {
    return all_checks;
}

CheckLog run_checks(const CheckContext& context) {
    CheckLog log;
    for (LedgerCheck check : ledger_checks())
        check(context, log);
    return log;
}

} // namespace copyscope
