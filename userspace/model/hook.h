#pragma once
// How the tracer's hooks were taken on a kernel: the mechanism of each, what it attached to,
// and whether its count is exact or inferred. Shared by the tracer (which chooses), the
// ledger (which reads counts by them) and the report (which names them).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/measured.h"

namespace copyscope {

// How a hook's count is obtained. fentry/fexit/kprobe: on a kernel function; tp_btf and
// tracepoint: on a tracepoint (BTF-typed or classic); inferred: derived from other hooks;
// userspace: by the runner itself (no BPF); cgroup_sockopt: a cgroup getsockopt program.
enum class HookMechanism {
    fentry,
    fexit,
    kprobe,
    tp_btf,
    tracepoint,
    inferred,
    userspace,
    cgroup_sockopt
};

std::string_view to_string(HookMechanism m);
std::optional<HookMechanism> hook_mechanism_from_string(std::string_view text);

// --hooks: `auto` takes the preferred form where the kernel allows it; `prefer-tracepoints`
// never takes fentry/fexit (what this VM needs anyway; lets tests force the fallback);
// `both` loads the forms of both in one run, each counting apart, and gives a second ledger
// from the tracepoint forms: the two paths compared on the same traffic.
enum class HookMode { automatic, prefer_tracepoints, both };

std::string_view to_string(HookMode mode);
std::optional<HookMode> hook_mode_from_string(std::string_view text);

// Hook names, as the ledger and the report name them.
inline constexpr const char* hook_send = "send";
inline constexpr const char* hook_pinned_pages = "pinned_pages";
inline constexpr const char* hook_transmit = "transmit";
inline constexpr const char* hook_deferred = "deferred_copy";
inline constexpr const char* hook_transmit_copies = "transmit_copies";
inline constexpr const char* hook_delivery = "delivery";
inline constexpr const char* hook_receive = "receive_copy";
inline constexpr const char* hook_retransmits = "retransmits";
inline constexpr const char* hook_completions = "completions";
inline constexpr const char* hook_splice = "splice";
inline constexpr const char* hook_io_uring_notifications = "io_uring_notifications";
inline constexpr const char* hook_io_uring_stacked = "io_uring_stacked";
inline constexpr const char* hook_udp_send = "udp_send";
inline constexpr const char* hook_udp_pinned = "udp_pinned";
inline constexpr const char* hook_udp_receive = "udp_receive";
inline constexpr const char* hook_receive_mapped = "receive_mapped";
// Hooks only `copyscope trace` plans: UDP sends and receive copies (sock_send_length,
// sock_recv_length), TCP close, following the children of traced processes.
inline constexpr const char* hook_udp = "udp";
inline constexpr const char* hook_socket_close = "socket_close";
inline constexpr const char* hook_process_follow = "process_follow";
// Every hook of `run`, in the order the tracer plans them.
inline constexpr const char* all_hooks[] = {hook_send,
                                            hook_pinned_pages,
                                            hook_transmit,
                                            hook_deferred,
                                            hook_transmit_copies,
                                            hook_delivery,
                                            hook_receive,
                                            hook_retransmits,
                                            hook_completions,
                                            hook_splice,
                                            hook_io_uring_notifications,
                                            hook_io_uring_stacked,
                                            hook_udp_send,
                                            hook_udp_pinned,
                                            hook_udp_receive,
                                            hook_receive_mapped};

// The form a hook took.
struct HookChoice {
    HookMechanism mechanism = HookMechanism::userspace;
    std::vector<std::string> targets; // what it attached to
    std::string note;                 // how the count is obtained, in words

    bool operator==(const HookChoice&) const = default;
};

// One hook on one kernel: the form taken, with its evidence (exact or inferred), or why the
// hook is unsupported.
struct HookUse {
    std::string hook;
    Measured<HookChoice> form;

    bool operator==(const HookUse&) const = default;
};

} // namespace copyscope
