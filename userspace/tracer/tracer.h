#pragma once
// The tracer as the runner sees it: a CellObserver that scopes the BPF counters to the
// cell's lab, and at the end of the cell computes the copy ledger and its checks into the
// result.
#include <memory>

#include "model/hook.h"
#include "model/observer.h"

namespace copyscope {

struct TracerOptions {
    HookMode hooks = HookMode::automatic;
};

// Loads the BPF programs now (once for the whole run). If they cannot be loaded, the
// observer still fills every cell's ledger, with each kernel-side field "unsupported" and
// the reason; it never throws for that.
std::unique_ptr<CellObserver> make_tracer(const TracerOptions& options);

} // namespace copyscope
