#pragma once
// The tracer as the runner sees it: a CellObserver that scopes the BPF counters to the
// cell's lab, and at the end of the cell writes the copy ledger and its checks into the
// result. Plus `copyscope doctor`'s view of the kernel's hook support.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "runner/observer.h"
#include "tracer/hooks.h"

namespace copyscope {

struct TracerOptions {
    HookMode hooks = HookMode::automatic;
};

// Loads the BPF programs now (once for the whole run). If they cannot be loaded, the
// observer still fills every cell's ledger, with each kernel-side field "unsupported" and
// the reason; it never throws for that.
std::unique_ptr<CellObserver> make_tracer(const TracerOptions& options);

// Kernel release, BTF, lockdown, tracefs, kprobes, BPF loadability, and per hook: every
// form, whether the kernel allows it (and why not), and which form each --hooks mode picks.
nlohmann::json tracer_doctor();
// The same as a readable table.
std::string render_tracer_doctor(const nlohmann::json& doctor);

} // namespace copyscope
