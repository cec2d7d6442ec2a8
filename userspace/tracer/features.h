#pragma once
// What the running kernel offers the tracer, probed once per process: BTF, lockdown,
// tracefs, kprobes, whether BPF programs load at all, and for every attach point a hook
// form needs, whether a trivial program loads and attaches there.
#include <map>
#include <string>

namespace copyscope {

enum class AttachKind { fentry, fexit, tp_btf };

const char* to_string(AttachKind kind);

struct ProbeResult {
    bool ok = false;
    std::string reason; // why not, when !ok
};

struct KernelFeatures {
    std::string release;
    bool btf = false;
    std::string btf_detail;
    std::string lockdown; // "none", "integrity", ... or "unknown (why)"
    std::string tracefs;  // where it is mounted, or "not mounted"
    bool kprobes = false;
    ProbeResult bpf; // a trivial program loads at all
    // A cgroup getsockopt program loads (it is attached per run, to copyscope's cgroup).
    ProbeResult cgroup_getsockopt;
    // Per attach kind and target name: loading and attaching a trivial program worked?
    std::map<std::string, ProbeResult> fentry, fexit, tp_btf;

    const ProbeResult& probe(AttachKind kind, const std::string& name) const;
    std::map<std::string, ProbeResult>& probes(AttachKind kind);
};

// Probes every attach point of the hook catalog (hooks.h) once per process.
const KernelFeatures& kernel_features();

} // namespace copyscope
