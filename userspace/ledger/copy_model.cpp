#include "ledger/copy_model.h"

#include <algorithm>
#include <charconv>

namespace copyscope {
namespace {

uint64_t minus(uint64_t a, uint64_t b) {
    return a > b ? a - b : 0;
}

} // namespace

CopySites& CopySites::operator+=(const CopySites& o) {
    receive += o.receive;
    tap_tx += o.tap_tx;
    tap_rx += o.tap_rx;
    tun += o.tun;
    timestamp += o.timestamp;
    no_sg += o.no_sg;
    skb_copy += o.skb_copy;
    return *this;
}

CopySites copy_sites(const KernelCounts& k, std::optional<HookMechanism> deferred,
                     std::optional<HookMechanism> transmit_copies) {
    CopySites s;
    if (deferred == HookMechanism::inferred) {
        // Received zerocopy bytes not forwarded on and not dropped uncopied were copied on
        // the receive path, by a tap first where one listened.
        s.tap_tx = k.xmit_zc_tap_bytes;
        s.tap_rx = k.rx_zc_tap_bytes;
        s.tun = k.xmit_zc_tun_bytes;
        s.receive = minus(k.rx_zc_bytes,
                          k.fwd_zc_bytes + k.rx_zc_dropped_flagged_bytes + k.rx_zc_tap_bytes);
    } else if (deferred) {
        s.tap_tx = k.tap_tx_copy_bytes;
        s.tap_rx = k.tap_rx_copy_bytes;
        s.tun = k.tun_copy_bytes;
        s.timestamp = k.tstamp_copy_bytes;
        s.receive = minus(k.deferred_bytes, s.tap_tx + s.tap_rx + s.tun + s.timestamp);
    }
    if (transmit_copies == HookMechanism::inferred) {
        s.no_sg = k.xmit_nosg_bytes;
    } else if (transmit_copies) {
        s.no_sg = k.gso_nosg_copy_bytes + k.linearize_copy_bytes;
        s.skb_copy = k.skb_copy_bytes;
    }
    return s;
}

uint64_t deferred_bytes(const KernelCounts& k, std::optional<HookMechanism> mechanism) {
    return copy_sites(k, mechanism, std::nullopt).total();
}

uint64_t recopied_bytes(const KernelCounts& k) {
    return k.rx_zc_redelivered_bytes + k.rx_zc_dropped_copied_bytes;
}

std::optional<bool> copies_at_local_delivery(std::string_view release) {
    int major = 0, minor = 0;
    const char* p = release.data();
    const char* end = p + release.size();
    auto r = std::from_chars(p, end, major);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
    r = std::from_chars(r.ptr + 1, end, minor);
    if (r.ec != std::errc()) return std::nullopt;
    return major > 6 || (major == 6 && minor >= 17);
}

std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive, bool copies_notifications_miss,
                                               const std::optional<IoUringStats>& io_uring,
                                               bool receive_as_counted) {
    if (app.bytes_sent == 0) return std::nullopt;
    const double user = static_cast<double>(app.user_copy_bytes) / app.bytes_sent;
    // udp: only what arrived is copied (the rest was dropped); zerocopy receive: only what
    // was not mapped.
    const uint64_t received_copied =
        app.bytes_received - std::min(app.receive_mapped_bytes, app.bytes_received);
    const double receive = !with_receive ? 0.0
                           : receive_as_counted
                               ? static_cast<double>(received_copied) / app.bytes_sent
                               : 1.0;
    if (s == Strategy::sendfile) return user + receive; // pages by reference at the socket
    if (uses_send_zc(s)) {
        // A notification says COPIED per request; the sender knows each request's bytes.
        if (!io_uring || io_uring->notifications == 0 || copies_notifications_miss)
            return std::nullopt;
        return user + static_cast<double>(io_uring->copied_request_bytes) / app.bytes_sent +
               receive;
    }
    if (s != Strategy::zero_copy) return user + 1.0 + receive;
    // Every zerocopy send is copied once more iff its completion says COPIED (at send
    // time as a fallback, or later); sends are the unit of completions, and the runner
    // sends equal-sized messages, so the fraction of sends is the fraction of bytes.
    if (!zc || zc->completions == 0 || copies_notifications_miss) return std::nullopt;
    const double copied = static_cast<double>(zc->completions_copied) / zc->completions;
    return user + copied + receive;
}

std::string copy_model_words(Strategy s, bool with_receive) {
    const std::string receive =
        with_receive ? "; 1 at the receive copy" : "; the receive copy is outside this kernel";
    switch (s) {
    case Strategy::two_copy:
        return "1 user copy (the staging memcpy); 1 kernel send copy" + receive;
    case Strategy::per_field:
    case Strategy::one_copy:
    case Strategy::io_uring:
        return "1 kernel send copy" + receive;
    case Strategy::zero_copy:
        return "no send copy (pages pinned); 1 more for the sends whose completion says "
               "COPIED (a fallback at send or a deferred copy, e.g. at local delivery)" +
               receive;
    case Strategy::sendfile:
        return "1 user copy (the fields written into the file's pages: the file write "
               "sendfile needs); no send copy (the page-cache pages go by reference, so 0 "
               "at the socket send)" +
               receive + " (a file written once and sent many times would skip the first)";
    case Strategy::io_uring_zc:
    case Strategy::io_uring_zc_fixed:
        return std::string("no send copy (") +
               (s == Strategy::io_uring_zc ? "pages pinned per request"
                                           : "registered buffers, pinned at registration") +
               "); 1 more for the bytes of the requests whose notification says "
               "IORING_NOTIF_USAGE_ZC_COPIED (e.g. copied at local delivery)" +
               receive;
    }
    return "?";
}

} // namespace copyscope
