#pragma once
// Which form each tracer hook takes on the running kernel. Every hook has a preferred form
// (fentry/fexit, on stock kernels) and a fallback (tp_btf tracepoints, or an inference);
// the kernel is probed once per process and one form per hook is chosen. A form names the
// BPF programs it needs by their names in bpf/copyscope.bpf.c; the tracer autoloads those.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/ledger.h"

namespace copyscope {

// --hooks: `auto` takes the preferred form where the kernel allows it; `prefer-tracepoints`
// never takes fentry/fexit (what this VM needs anyway; lets tests force the fallback).
enum class HookMode { automatic, prefer_tracepoints };

// Throws UsageError naming the bad value and the allowed ones.
HookMode parse_hook_mode(std::string_view text);
std::string_view to_string(HookMode mode);

enum class AttachKind { fentry, fexit, tp_btf };

struct ProbeResult {
    bool ok = false;
    std::string reason; // why not, when !ok
};

// What the running kernel offers, probed once per process (kernel_features()).
struct KernelFeatures {
    std::string release;
    bool btf = false;
    std::string btf_detail;
    std::string lockdown; // "none", "integrity", ... or "unknown (why)"
    std::string tracefs;  // where it is mounted, or "not mounted"
    bool kprobes = false;
    ProbeResult bpf; // a trivial program loads at all
    // Per attach kind and target name: loading and attaching a trivial program worked?
    std::map<std::string, ProbeResult> fentry, fexit, tp_btf;

    const ProbeResult& probe(AttachKind kind, const std::string& name) const;
};

const KernelFeatures& kernel_features();

// One form of one hook: the programs it loads and what they attach to.
struct Requirement {
    AttachKind kind;
    std::vector<std::string> names; // alternatives by kernel version, first that works wins
};

struct HookForm {
    std::string mechanism; // fexit, fentry, tp_btf, inferred, userspace
    bool tracepoint_path;  // allowed under prefer-tracepoints
    bool exact;
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
};

HookPlan plan_hooks(const KernelFeatures& features, HookMode mode);

} // namespace copyscope
