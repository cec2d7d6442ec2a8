#include "ledger/paths_checks.h"

#include <algorithm>
#include <cmath>

#include "common/format.h"
#include "ledger/copy_model.h"

namespace copyscope {
namespace {

// The usage flags the check compares with the copies: the sender's, less the notifications
// flagged COPIED only because stacked (6.10+), which say nothing of any copy: their bytes
// rode in another request's skb, whose owner's flag tells whether it was copied.
struct UsageFlags {
    uint64_t notifications = 0;
    uint64_t copied = 0;
};

UsageFlags usage_flags(const CheckContext& c, std::string& detail) {
    const IoUringStats& u = *c.in.io_uring;
    UsageFlags f{u.notifications, u.notifications_copied};
    const auto& n = c.ledger.io_uring_notifications;
    if (!n || !n->stacked) return f;
    const Measured<StackedNotifications>& s = *n->stacked;
    if (!s) {
        detail += "; " + std::string(stacked_notifications_what) + ": unsupported (" + s.reason() +
                  "), the flags taken as they are";
        return f;
    }
    const uint64_t stacked = std::min({s->stacked, f.copied, f.notifications});
    detail += "; " + std::to_string(s->stacked) + " " + stacked_notifications_what + " (" +
              std::string(to_string(s.evidence())) +
              "), left out: " + std::to_string(f.copied - stacked) + " of " +
              std::to_string(f.notifications - stacked) + " COPIED";
    return {f.notifications - stacked, f.copied - stacked};
}

// What the usage flags allow the deferred copy to be, given the bytes sent by reference.
bool deferred_matches_flags(const UsageFlags& u, const Tally& t, uint64_t slack,
                            std::string& detail) {
    const uint64_t deferred = t.deferred_total, ref = t.by_reference();
    if (ref == 0) {
        detail += "; nothing sent by reference, so no deferred copy expected (a COPIED flag is "
                  "then the send-time copy of a route without scatter-gather)";
        return deferred == 0;
    }
    if (u.copied == u.notifications) {
        detail += "; all COPIED: deferred must be within 1% of the bytes by reference";
        const double diff = std::fabs(static_cast<double>(deferred) - static_cast<double>(ref));
        return diff <= ledger_tolerance * static_cast<double>(ref) + static_cast<double>(slack);
    }
    if (u.copied == 0) {
        detail += "; none COPIED: deferred must be 0";
        return deferred <= slack;
    }
    detail += "; some COPIED: deferred must be between 0 and the bytes by reference";
    return deferred > 0 && deferred <= ref + slack;
}

} // namespace

void deferred_vs_usage_flags(const CheckContext& c, CheckLog& log) {
    if (!uses_send_zc(c.in.strategy)) return;
    const std::string name = "ledger: deferred copy agrees with io_uring usage flags";
    const Tally& t = c.tally;
    if (!t.deferred) return log.skip(name, t.deferred.reason());
    if (!t.send) return log.skip(name, t.send.reason());
    if (!c.in.io_uring || c.in.io_uring->notifications == 0)
        return log.skip(name, "no io_uring notifications arrived");
    const IoUringStats& u = *c.in.io_uring;
    const uint64_t slack = t.retransmits ? t.total.retrans_bytes : 0;
    std::string detail = "deferred " + format_bytes(t.deferred_total) + " of " +
                         format_bytes(t.by_reference()) + " by reference (pinned " +
                         format_bytes(t.pinned) + ", registered " + format_bytes(t.registered) +
                         "); notifications " + std::to_string(u.notifications_copied) + " of " +
                         std::to_string(u.notifications) + " COPIED (" +
                         format_bytes(u.copied_request_bytes) + " of their requests' bytes)";
    const bool ok = deferred_matches_flags(usage_flags(c, detail), t, slack, detail);
    if (slack) detail += " (retransmits " + format_bytes(slack) + " allowed)";
    // What the flag cannot say (io_uring/notif.c): it is set per request, and software
    // segmentation without scatter-gather (skb_segment) copies without clearing it.
    detail += "; the flag is one bit per request and misses copies made in software "
              "segmentation on a device without scatter-gather";
    const bool independent = t.deferred.evidence() == Evidence::exact;
    log.add(name, ok, detail,
            {independent, independent ? "copies counted where the kernel made them against the "
                                        "kernel's own usage flags"
                                      : "the inferred deferred copy is the zerocopy bytes "
                                        "received: it equals the bytes by reference whether or "
                                        "not a copy happened"});
}

void kernel_uring_notifications(const CheckContext& c, CheckLog& log) {
    if (!uses_send_zc(c.in.strategy) || !c.in.io_uring || !c.in.tracer) return;
    const std::string name = "ledger: kernel io_uring notifications == sender's";
    const Tally& t = c.tally;
    if (!t.io_uring_notifications) return log.skip(name, t.io_uring_notifications.reason());
    const IoUringStats& u = *c.in.io_uring;
    const KernelCounts& k = t.total;
    log.add(name,
            k.uring_notifs == u.notifications && k.uring_notifs_copied == u.notifications_copied,
            "kernel posted " + std::to_string(k.uring_notifs) + " (" +
                std::to_string(k.uring_notifs_copied) + " COPIED), sender read " +
                std::to_string(u.notifications) + " (" + std::to_string(u.notifications_copied) +
                " COPIED)",
            {true, "the kernel's count as each notification is posted against the sender's "
                   "CQE reads"});
}

} // namespace copyscope
