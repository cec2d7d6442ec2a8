#include "ledger/udp_fallback.h"

#include <algorithm>

#include "common/format.h"

namespace copyscope {
namespace {

// IPv4 header (no options) and UDP header: __ip_append_data's `length + fragheaderlen`.
constexpr uint64_t kHeaders = 28;

// What the kernel did to the MSG_ZEROCOPY bytes: all copied at send, none, or some.
enum class Outcome { all_copied, none_copied, mixed };

Outcome outcome(uint64_t zc, uint64_t fallback, uint64_t slack) {
    if (fallback > 0 && fallback + slack >= zc) return Outcome::all_copied;
    if (fallback <= slack) return Outcome::none_copied;
    return Outcome::mixed;
}

std::string rules_in_words(const std::vector<UdpFallbackRule>& rules, const UdpSendSettings& s) {
    std::string out;
    for (UdpFallbackRule r : rules)
        out += (out.empty() ? "" : "; ") + rule_in_words(r, s);
    return out;
}

// The cause, checked against the bytes the send hook counted.
Measured<std::string> cause_of(const UdpSendSettings& s, const std::vector<UdpFallbackRule>& rules,
                               const LedgerInput& in, const Tally& t) {
    if (!t.send) return Unsupported{"bytes copied at send not measured: " + t.send.reason()};
    if (!s.device) return Unsupported{"the sending device's features were not read"};
    const uint64_t zc = t.pinned + t.fallback;
    if (zc == 0) return Unsupported{"no bytes were sent with MSG_ZEROCOPY"};
    const Outcome o = outcome(zc, t.fallback, in.straddling_bytes);
    if (rules.empty() && o == Outcome::none_copied)
        return Measured<std::string>("none", t.send.evidence(),
                                     "every MSG_ZEROCOPY byte pinned, as __ip_append_data's "
                                     "rules predict");
    if (!rules.empty() && o == Outcome::all_copied)
        return Measured<std::string>(rules_in_words(rules, s), Evidence::inferred,
                                     "the rules the cell's settings break, confirmed by every "
                                     "MSG_ZEROCOPY byte copied at send");
    return Unsupported{format_bytes(t.fallback) + " of " + format_bytes(zc) +
                       " MSG_ZEROCOPY bytes copied at send where the cell's settings predict " +
                       (rules.empty() ? "none" : "all") +
                       ": no rule of __ip_append_data the ledger knows explains it"};
}

} // namespace

UdpSendSettings udp_send_settings(const CellSpec& spec, std::optional<SendDevice> device) {
    UdpSendSettings s;
    s.gso = spec.udp_gso;
    s.corked = spec.udp_cork;
    s.device = std::move(device);
    s.datagram_bytes = spec.message_size;
    if (spec.udp_gso > 0) {
        // The largest GSO send: at most 64 segments, at most one datagram's 65507 bytes.
        const uint64_t per_send =
            uint64_t(spec.udp_gso) *
            std::min<uint64_t>(kMaxUdpSegments, kMaxUdpPayload / spec.udp_gso);
        s.datagram_bytes = std::min<uint64_t>(spec.message_size, per_send);
    }
    return s;
}

std::vector<UdpFallbackRule> udp_fallback_rules(const UdpSendSettings& s) {
    std::vector<UdpFallbackRule> rules;
    // With GSO the MTU is IP_MAX_MTU: never above it.
    if (s.gso == 0 && s.device && s.datagram_bytes + kHeaders > s.device->mtu)
        rules.push_back(UdpFallbackRule::above_mtu);
    if (s.corked) rules.push_back(UdpFallbackRule::corked);
    if (s.device && !s.device->tx_checksum) rules.push_back(UdpFallbackRule::no_checksum_offload);
    if (s.device && !s.device->scatter_gather) rules.push_back(UdpFallbackRule::no_scatter_gather);
    return rules;
}

std::string rule_in_words(UdpFallbackRule r, const UdpSendSettings& s) {
    const std::string dev = s.device ? s.device->name : std::string("the device");
    switch (r) {
    case UdpFallbackRule::above_mtu:
        return "a " + std::to_string(s.datagram_bytes) + "-byte datagram above " + dev + "'s MTU " +
               std::to_string(s.device ? s.device->mtu : 0) +
               " less 28 bytes of headers, without GSO (IP fragments)";
    case UdpFallbackRule::corked:
        return "corked: each datagram appended in pieces with MSG_MORE (the first without GSO, "
               "the rest to a pending datagram)";
    case UdpFallbackRule::no_checksum_offload:
        return dev + " without TX checksum offload (neither NETIF_F_HW_CSUM nor NETIF_F_IP_CSUM)";
    case UdpFallbackRule::no_scatter_gather:
        return dev + " without scatter-gather (NETIF_F_SG)";
    }
    return "?";
}

std::optional<UdpZerocopySend> udp_zerocopy_send(const LedgerInput& in, const Tally& t) {
    if (in.protocol != Protocol::udp || in.strategy != Strategy::zero_copy || !in.udp_send)
        return std::nullopt;
    const UdpSendSettings& s = *in.udp_send;
    UdpZerocopySend u;
    u.datagram_bytes = s.datagram_bytes;
    u.gso = s.gso;
    u.corked = s.corked;
    u.device = s.device;
    u.rules = udp_fallback_rules(s);
    u.cause = cause_of(s, u.rules, in, t);
    return u;
}

void udp_fallback_matches_rules(const CheckContext& c, CheckLog& log) {
    const std::optional<UdpZerocopySend>& u = c.ledger.udp_zerocopy_send;
    if (!u) return;
    const std::string name = "ledger: udp zerocopy fallback agrees with __ip_append_data's rules";
    const Tally& t = c.tally;
    if (!t.send) return log.skip(name, t.send.reason());
    if (!u->device) return log.skip(name, "the sending device's features were not read");
    const uint64_t zc = t.pinned + t.fallback;
    if (zc == 0) return log.skip(name, "no bytes were sent with MSG_ZEROCOPY");
    const Outcome o = outcome(zc, t.fallback, c.in.straddling_bytes);
    const bool ok = u->rules.empty() ? o == Outcome::none_copied : o == Outcome::all_copied;
    std::string detail =
        format_bytes(t.fallback) + " of " + format_bytes(zc) +
        " MSG_ZEROCOPY bytes copied at send; the settings predict " +
        (u->rules.empty() ? std::string("none (pinned)")
                          : "all (" + rules_in_words(u->rules, *c.in.udp_send) + ")");
    if (c.in.straddling_bytes)
        detail += " (" + format_bytes(c.in.straddling_bytes) + " of sends straddling allowed)";
    log.add(name, ok, detail,
            {true, "the kernel's own zerocopy bit of each send, read at transmit, against the "
                   "rules applied to the cell's settings and the device as read back"});
}

} // namespace copyscope
