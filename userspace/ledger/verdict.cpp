#include "ledger/verdict.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "common/format.h"

namespace copyscope {
namespace {

// Where a deferred copy in this side happened.
std::string where_deferred(NamespaceRole role, Transport t) {
    switch (role) {
    case NamespaceRole::sender:
        if (t == Transport::nic)
            return "on this host, in copyscope's own namespace (a local route, a packet tap or "
                   "a device without scatter-gather)";
        return "in the sender's namespace";
    case NamespaceRole::router:
        return "in the router's namespace (at the first receive, before forwarding)";
    case NamespaceRole::receiver:
        return "at local delivery in the receiver's namespace";
    case NamespaceRole::shared:
        return "at local delivery in the lab's one namespace";
    case NamespaceRole::local_sink:
        return "at local delivery in copyscope's own namespace (the sink runs in this kernel)";
    }
    return "?";
}

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

// The copies, as "<share> of zerocopy bytes copied <where>": the fallback first, then the
// later copies, the largest share first.
std::string copies_in_words(const LedgerInput& in, const Tally& t) {
    const uint64_t zc_bytes = t.pinned + t.fallback;
    std::vector<std::string> parts;
    if (t.fallback > 0)
        parts.push_back(format_percent(100.0 * t.fallback / zc_bytes) +
                        (t.udp ? " of zerocopy bytes copied at send time (udp fallback: a "
                                 "datagram above the MTU without GSO, corked, or no "
                                 "scatter-gather or checksum offload on the route)"
                               : " of zerocopy bytes copied at send time (fallback: no "
                                 "SOCK_ZEROCOPY or no scatter-gather on the route)"));
    std::vector<std::pair<uint64_t, std::string>> where;
    for (const SideTally& s : t.sides) {
        const uint64_t d = std::min(s.deferred, t.pinned);
        if (d == 0) continue;
        // nic with the sink here: the copy is local delivery in our own namespace.
        const NamespaceRole role =
            t.nic && t.receiver_here == true ? NamespaceRole::local_sink : s.role;
        where.emplace_back(d, where_deferred(role, in.transport));
    }
    std::stable_sort(where.begin(), where.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [d, text] : where)
        parts.push_back(format_percent(100.0 * d / zc_bytes) + " of zerocopy bytes copied " + text);
    std::string joined;
    for (size_t i = 0; i < parts.size(); ++i)
        joined += (i ? "; " : "") + parts[i];
    return joined;
}

} // namespace

std::optional<std::string> zerocopy_verdict(const LedgerInput& in, const Tally& t) {
    if (in.strategy != Strategy::zero_copy) return std::nullopt;
    const std::string on = " on " + std::string(to_string(in.transport));
    if (!t.send) return from_notifications(in, on, t.send.reason());
    if (!t.deferred) return from_notifications(in, on, t.deferred.reason());
    const uint64_t zc_bytes = t.pinned + t.fallback;
    if (zc_bytes == 0)
        return "MSG_ZEROCOPY not used" + on + ": no bytes were sent with MSG_ZEROCOPY";
    const double deferred_capped = std::min<double>(t.deferred_total, t.pinned);
    const double fallback_pct = 100.0 * t.fallback / zc_bytes;
    const double deferred_pct = 100.0 * deferred_capped / zc_bytes;
    const double effective_pct = 100.0 - fallback_pct - deferred_pct;
    const std::string joined = copies_in_words(in, t);
    if (t.far && t.fallback == 0 && t.deferred_total == 0)
        return "MSG_ZEROCOPY effective" + on +
               ": 100% of bytes sent by reference, no copy on this host";
    if (effective_pct >= 99.5)
        return "MSG_ZEROCOPY effective" + on + " for " + format_percent(effective_pct) +
               " of bytes" + (joined.empty() ? "" : "; " + joined);
    if (effective_pct <= 0.5) return "MSG_ZEROCOPY not effective" + on + ": " + joined;
    return "MSG_ZEROCOPY partly effective" + on + ": " + format_percent(effective_pct) +
           " of zerocopy bytes avoided a copy; " + joined;
}

} // namespace copyscope
