#pragma once
// The copy ledger of one cell, in one place: pure functions from what the application
// counted (AppCounts, ZerocopyStats) and what the tracer counted in the kernel, per lab
// namespace, to the ledger JSON, its checks and the zero-copy verdict. No I/O, no BPF:
// unit tests drive it with synthetic numbers.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/kernel_counts.h"
#include "report/cell.h"

namespace copyscope {

// How one hook was taken on the running kernel.
struct HookUse {
    std::string hook; // send, pinned_pages, deferred_copy, receive_copy, retransmits, completions
    std::string mechanism; // fexit, fentry, tp_btf, inferred, userspace
    std::vector<std::string> targets;
    bool exact = false;      // the count is the kernel's own, not derived
    std::string note;        // how the count is obtained, in words
    std::string unsupported; // non-empty: the hook is not available, and why
};

// Hook names (HookUse::hook).
inline constexpr const char* hook_send = "send";
inline constexpr const char* hook_pinned_pages = "pinned_pages";
inline constexpr const char* hook_deferred = "deferred_copy";
inline constexpr const char* hook_receive = "receive_copy";
inline constexpr const char* hook_retransmits = "retransmits";
inline constexpr const char* hook_completions = "completions";

// What the tracer saw in one cell.
struct TracerView {
    std::vector<HookUse> hooks;
    uint64_t sender_ns = 0;   // namespace inode numbers
    uint64_t receiver_ns = 0; // == sender_ns when one namespace (loopback, nic)
    uint64_t router_ns = 0;   // forward only; 0: no router
    KernelCounts sender;
    KernelCounts receiver; // ignored when receiver_ns == sender_ns
    KernelCounts router;   // ignored when router_ns == 0
    // nic: the sender's namespace is shared with the rest of the host, so its socket counts
    // cover only sockets to the peer; sockets bound to the peer's address and port (a sink
    // running in this very namespace) are counted here instead. nullopt: not split.
    std::optional<KernelCounts> local_sink;
    uint64_t missed_events = 0; // BPF program runs the kernel skipped (recursion)
};

struct LedgerInput {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    AppCounts app;
    std::optional<ZerocopyStats> zerocopy;
    std::optional<TracerView> tracer; // nullopt: no kernel-side view at all
    std::string tracer_unavailable;   // why, when tracer is nullopt
};

struct LedgerResult {
    nlohmann::json ledger;
    std::vector<Check> checks;
};

// Tolerance of the "within 1%" comparisons.
inline constexpr double ledger_tolerance = 0.01;

LedgerResult compute_ledger(const LedgerInput& in);

// Deferred bytes per the deferred hook's mechanism: the direct skb_copy_ubufs count, or
// zerocopy bytes received in the namespace minus those forwarded on (inferred).
uint64_t deferred_bytes(const KernelCounts& k, const std::string& mechanism);

// Copies per byte the strategy's model predicts: user copy + kernel copy or, for
// zero-copy, the fraction of sends the kernel reported COPIED + the receive copy (left out
// when the receiver is outside this kernel). nullopt when the model cannot say (no bytes,
// zero-copy without completions).
std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive = true);

} // namespace copyscope
