#include "ledger/paths_verdict.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/format.h"
#include "ledger/verdict.h"

namespace copyscope {
namespace {

std::string sendfile_verdict(const LedgerInput& in, const Tally& t, const std::string& on) {
    if (!t.splice) return "sendfile by reference unknown" + on + ": " + t.splice.reason();
    if (!t.send) return "sendfile by reference unknown" + on + ": " + t.send.reason();
    const uint64_t sent = in.app.bytes_sent;
    if (sent == 0) return "sendfile sent nothing" + on;
    const double spliced = 100.0 * static_cast<double>(t.spliced) / static_cast<double>(sent);
    const uint64_t copied = t.total.splice_copied_bytes;
    std::string text = "sendfile by reference" + on + " for " + format_percent(spliced) +
                       " of bytes (page-cache pages spliced into skbs)";
    if (copied > 0)
        text += "; " + format_percent(100.0 * static_cast<double>(copied) / sent) +
                " copied at send (a route without scatter-gather)";
    text += t.deferred && t.deferred_total == 0 ? "; no deferred copy" : "";
    text +=
        "; the copies are the application's fill of the file" +
        std::string(t.far ? " (the receive copy is outside this kernel)" : " and the receive copy");
    return text;
}

// Where the copies of the bytes by reference happened, the largest share first.
std::string deferred_in_words(const LedgerInput& in, const Tally& t) {
    const uint64_t ref = t.by_reference();
    std::vector<std::pair<uint64_t, std::string>> where;
    for (const SideTally& s : t.sides) {
        const uint64_t d = std::min(s.deferred, ref);
        if (d == 0) continue;
        const NamespaceRole role =
            t.nic && t.receiver_here == true ? NamespaceRole::local_sink : s.role;
        where.emplace_back(d, where_received(role, in.transport, t.local_delivery));
    }
    std::stable_sort(where.begin(), where.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string out;
    for (const auto& [d, text] : where)
        out += (out.empty() ? "" : "; ") +
               format_percent(100.0 * static_cast<double>(d) / static_cast<double>(ref)) +
               " of the bytes by reference copied " + text;
    return out;
}

std::string flags_in_words(const IoUringStats& u, const Tally& t) {
    std::string text = std::to_string(u.notifications_copied) + " of " +
                       std::to_string(u.notifications) +
                       " notifications flagged IORING_NOTIF_USAGE_ZC_COPIED";
    const KernelCounts& k = t.total;
    if (t.io_uring_stacked && k.uring_notifs_classified == u.notifications &&
        k.uring_notifs_stacked > 0)
        text += " (" + std::to_string(k.uring_notifs_stacked) +
                " of them only because stacked: no skb of their own, nothing copied)";
    return text;
}

std::string send_zc_verdict(const LedgerInput& in, const Tally& t, const std::string& on) {
    const std::string what = in.strategy == Strategy::io_uring_zc_fixed
                                 ? "io_uring SEND_ZC (registered buffers)"
                                 : "io_uring SEND_ZC";
    const std::string flags = in.io_uring ? flags_in_words(*in.io_uring, t) : "no notifications";
    const HookSource& missing = !t.send ? t.send : t.deferred;
    if (!t.send || !t.deferred)
        return what + " effectiveness" + on + " from the usage flags only: " + flags +
               " (byte counts unavailable: " + missing.reason() + ")";
    const uint64_t ref = t.by_reference(), zc_bytes = ref + t.fallback;
    if (zc_bytes == 0) return what + " sent nothing by reference" + on + "; " + flags;
    const double fallback_pct = 100.0 * static_cast<double>(t.fallback) / zc_bytes;
    const double deferred_pct =
        100.0 * static_cast<double>(std::min(t.deferred_total, ref)) / zc_bytes;
    const double effective = 100.0 - fallback_pct - deferred_pct;
    std::string copies = deferred_in_words(in, t);
    if (t.fallback > 0)
        copies = format_percent(fallback_pct) + " copied at send (a route without scatter-gather)" +
                 (copies.empty() ? "" : "; " + copies);
    const std::string tail = (copies.empty() ? "" : "; " + copies) + "; " + flags;
    if (effective >= 99.5)
        return what + " effective" + on + " for " + format_percent(effective) + " of bytes" + tail;
    if (effective <= 0.5) return what + " not effective" + on + tail;
    return what + " partly effective" + on + ": " + format_percent(effective) +
           " of bytes avoided a copy" + tail;
}

} // namespace

std::optional<std::string> path_verdict(const LedgerInput& in, const Tally& t) {
    const std::string on = " on " + std::string(to_string(in.transport));
    if (in.strategy == Strategy::sendfile) return sendfile_verdict(in, t, on);
    if (uses_send_zc(in.strategy)) return send_zc_verdict(in, t, on);
    return std::nullopt;
}

} // namespace copyscope
