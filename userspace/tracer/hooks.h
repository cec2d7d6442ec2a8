#pragma once
// Which form each tracer hook takes on the running kernel. Every hook has a preferred form
// (fentry/fexit, on stock kernels) and a fallback (tp_btf tracepoints, or an inference);
// the kernel is probed once per process and one form per hook is chosen. A form names the
// BPF programs it needs by their names in bpf/copyscope.bpf.c; the tracer autoloads those.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/hook.h"
#include "tracer/features.h"

namespace copyscope {

// Throws UsageError naming the bad value and the allowed ones.
HookMode parse_hook_mode(std::string_view text);

// One attach point a form needs.
struct Requirement {
    AttachKind kind;
    std::vector<std::string> names; // alternatives by kernel version, first that works wins
};

struct HookForm {
    HookMechanism mechanism;
    bool tracepoint_path; // allowed under prefer-tracepoints
    Evidence evidence;
    std::string note;
    std::vector<Requirement> needs;
    std::vector<std::string> programs; // BPF programs (SEC function names) it loads
    // A program whose attach target is the name this kernel has for the first requirement
    // (its SEC names only one of the alternatives); empty: none.
    std::string retargeted_program;
};

struct HookSpec {
    std::string name;            // ledger hook name (hook_send, ...)
    std::string what;            // what it counts, in words
    std::vector<HookForm> forms; // most preferred first
};

const std::vector<HookSpec>& hook_catalog();

// A form resolved against the kernel: usable or not, with the targets it would use.
struct ResolvedForm {
    bool available = false;
    std::string reason;
    std::vector<std::string> targets;
};
ResolvedForm resolve(const HookForm& form, const KernelFeatures& features);

// The chosen form per hook, and the programs to load.
struct HookPlan {
    HookMode mode = HookMode::automatic;
    std::vector<HookUse> uses;
    std::vector<std::string> programs;
    // Program -> the kernel function it attaches to, where that differs by kernel version.
    std::map<std::string, std::string> attach_targets;
    // --hooks both: the tracepoint forms' choice per hook (uses holds the preferred ones).
    std::optional<std::vector<HookUse>> tracepoint_uses;
    // The send hook's exact and tracepoint programs are both loaded: the tracepoint ones
    // count into counters of their own (BPF: cs_both_forms).
    bool send_forms_apart = false;
};

HookPlan plan_hooks(const KernelFeatures& features, HookMode mode);

} // namespace copyscope
