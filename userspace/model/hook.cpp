#include "model/hook.h"

namespace copyscope {

std::string_view to_string(HookMechanism m) {
    switch (m) {
    case HookMechanism::fentry:
        return "fentry";
    case HookMechanism::fexit:
        return "fexit";
    case HookMechanism::kprobe:
        return "kprobe";
    case HookMechanism::tp_btf:
        return "tp_btf";
    case HookMechanism::tracepoint:
        return "tracepoint";
    case HookMechanism::inferred:
        return "inferred";
    case HookMechanism::userspace:
        return "userspace";
    case HookMechanism::cgroup_sockopt:
        return "cgroup_sockopt";
    }
    return "?";
}

std::optional<HookMechanism> hook_mechanism_from_string(std::string_view text) {
    for (HookMechanism m :
         {HookMechanism::fentry, HookMechanism::fexit, HookMechanism::kprobe, HookMechanism::tp_btf,
          HookMechanism::tracepoint, HookMechanism::inferred, HookMechanism::userspace,
          HookMechanism::cgroup_sockopt})
        if (to_string(m) == text) return m;
    return std::nullopt;
}

std::string_view to_string(HookMode mode) {
    switch (mode) {
    case HookMode::automatic:
        return "auto";
    case HookMode::prefer_tracepoints:
        return "prefer-tracepoints";
    case HookMode::both:
        return "both";
    }
    return "?";
}

std::optional<HookMode> hook_mode_from_string(std::string_view text) {
    for (HookMode m : {HookMode::automatic, HookMode::prefer_tracepoints, HookMode::both})
        if (to_string(m) == text) return m;
    return std::nullopt;
}

} // namespace copyscope
