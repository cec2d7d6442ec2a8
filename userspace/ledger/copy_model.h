#pragma once
// What the kernel is expected to do, as the ledger models it: how many copies a strategy
// makes per byte, and how the deferred copy is read from each form of its hook.
#include <cstdint>
#include <optional>
#include <string>

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
// when the receiver is outside this kernel). sendfile: its user copy (the fill of the file)
// and no send copy; io-uring: one send copy; io-uring-zc and -fixed: the bytes of the
// requests whose notification said COPIED. nullopt when the model cannot say (no bytes,
// zero-copy without completions, SEND_ZC without notifications).
std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive = true,
                                               const std::optional<IoUringStats>& io_uring = {});

// The model in words, for the report: where each copy the model expects happens.
std::string copy_model_words(Strategy s, bool with_receive = true);

} // namespace copyscope
