#pragma once
// What the kernel is expected to do, as the ledger models it: how many copies a strategy
// makes per byte, and how the deferred copy is read from each form of its hook.
#include <cstdint>
#include <optional>

#include "model/app.h"
#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/spec.h"

namespace copyscope {

// Tolerance of the "within 1%" comparisons.
inline constexpr double ledger_tolerance = 0.01;

// Deferred bytes per the deferred hook's mechanism: the direct skb_copy_ubufs count, or
// (inferred) zerocopy bytes received in the namespace minus those forwarded on.
uint64_t deferred_bytes(const KernelCounts& k, std::optional<HookMechanism> mechanism);

// Copies per byte the strategy's model predicts: user copy + kernel copy or, for
// zero-copy, the fraction of sends the kernel reported COPIED + the receive copy (left out
// when the receiver is outside this kernel). nullopt when the model cannot say (no bytes,
// zero-copy without completions). `receive_as_counted` (udp, zerocopy receive): the receive
// copy is the bytes received less those mapped, per byte sent, instead of 1.
std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive = true,
                                               bool receive_as_counted = false);

} // namespace copyscope
