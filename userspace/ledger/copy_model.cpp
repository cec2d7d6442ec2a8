#include "ledger/copy_model.h"

#include <algorithm>

namespace copyscope {

uint64_t deferred_bytes(const KernelCounts& k, std::optional<HookMechanism> mechanism) {
    if (mechanism == HookMechanism::inferred)
        return k.rx_zc_bytes > k.fwd_zc_bytes ? k.rx_zc_bytes - k.fwd_zc_bytes : 0;
    return k.deferred_bytes;
}

std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive, bool receive_as_counted) {
    if (app.bytes_sent == 0) return std::nullopt;
    const double user = static_cast<double>(app.user_copy_bytes) / app.bytes_sent;
    // udp: only what arrived is copied (the rest was dropped); zerocopy receive: only what
    // was not mapped.
    const uint64_t received_copied =
        app.bytes_received - std::min(app.receive_mapped_bytes, app.bytes_received);
    const double receive =
        !with_receive ? 0.0
        : receive_as_counted ? static_cast<double>(received_copied) / app.bytes_sent
                             : 1.0;
    if (s != Strategy::zero_copy) return user + 1.0 + receive;
    // Every zerocopy send is copied once more iff its completion says COPIED (at send
    // time as a fallback, or later); sends are the unit of completions, and the runner
    // sends equal-sized messages, so the fraction of sends is the fraction of bytes.
    if (!zc || zc->completions == 0) return std::nullopt;
    const double copied = static_cast<double>(zc->completions_copied) / zc->completions;
    return user + copied + receive;
}

} // namespace copyscope
