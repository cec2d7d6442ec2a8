#include "model/ledger.h"

namespace copyscope {

namespace {
constexpr NamespaceRole all_roles[] = {NamespaceRole::sender, NamespaceRole::router,
                                       NamespaceRole::receiver, NamespaceRole::shared,
                                       NamespaceRole::local_sink};
} // namespace

std::string_view to_string(NamespaceRole r) {
    switch (r) {
    case NamespaceRole::sender:
        return "sender";
    case NamespaceRole::router:
        return "router";
    case NamespaceRole::receiver:
        return "receiver";
    case NamespaceRole::shared:
        return "shared";
    case NamespaceRole::local_sink:
        return "local_sink";
    }
    return "?";
}

std::optional<NamespaceRole> namespace_role_from_string(std::string_view text) {
    for (NamespaceRole r : all_roles)
        if (to_string(r) == text) return r;
    return std::nullopt;
}

namespace {
constexpr UdpFallbackRule all_rules[] = {UdpFallbackRule::above_mtu, UdpFallbackRule::corked,
                                         UdpFallbackRule::no_checksum_offload,
                                         UdpFallbackRule::no_scatter_gather};
} // namespace

std::string_view to_string(UdpFallbackRule r) {
    switch (r) {
    case UdpFallbackRule::above_mtu:
        return "above_mtu";
    case UdpFallbackRule::corked:
        return "corked";
    case UdpFallbackRule::no_checksum_offload:
        return "no_checksum_offload";
    case UdpFallbackRule::no_scatter_gather:
        return "no_scatter_gather";
    }
    return "?";
}

std::optional<UdpFallbackRule> udp_fallback_rule_from_string(std::string_view text) {
    for (UdpFallbackRule r : all_rules)
        if (to_string(r) == text) return r;
    return std::nullopt;
}

const HookUse* Ledger::hook(std::string_view name) const {
    for (const HookUse& h : hooks)
        if (h.hook == name) return &h;
    return nullptr;
}

} // namespace copyscope
