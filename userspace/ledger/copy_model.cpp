#include "ledger/copy_model.h"

namespace copyscope {

uint64_t deferred_bytes(const KernelCounts& k, std::optional<HookMechanism> mechanism) {
    if (mechanism == HookMechanism::inferred)
        return k.rx_zc_bytes > k.fwd_zc_bytes ? k.rx_zc_bytes - k.fwd_zc_bytes : 0;
    return k.deferred_bytes;
}

std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive,
                                               const std::optional<IoUringStats>& io_uring) {
    if (app.bytes_sent == 0) return std::nullopt;
    const double user = static_cast<double>(app.user_copy_bytes) / app.bytes_sent;
    const double receive = with_receive ? 1.0 : 0.0;
    if (s == Strategy::sendfile) return user + receive; // pages by reference at the socket
    if (uses_send_zc(s)) {
        // A notification says COPIED per request; the sender knows each request's bytes.
        if (!io_uring || io_uring->notifications == 0) return std::nullopt;
        return user + static_cast<double>(io_uring->copied_request_bytes) / app.bytes_sent +
               receive;
    }
    if (s != Strategy::zero_copy) return user + 1.0 + receive;
    // Every zerocopy send is copied once more iff its completion says COPIED (at send
    // time as a fallback, or later); sends are the unit of completions, and the runner
    // sends equal-sized messages, so the fraction of sends is the fraction of bytes.
    if (!zc || zc->completions == 0) return std::nullopt;
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
