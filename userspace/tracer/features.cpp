#include "tracer/features.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/unique_fd.h"
#include "tracer/hooks.h"

namespace copyscope {
namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream f(path);
    std::string line;
    if (f) std::getline(f, line);
    return line;
}

bool exists(const std::string& path) {
    return access(path.c_str(), F_OK) == 0;
}

std::string lockdown_mode() {
    const std::string path = "/sys/kernel/security/lockdown";
    if (!exists(path)) return "unknown (" + path + " absent: securityfs not mounted)";
    std::string line = read_first_line(path); // "none [integrity] confidentiality"
    auto l = line.find('['), r = line.find(']');
    if (l == std::string::npos || r == std::string::npos || r < l)
        return "unknown (unreadable " + path + ")";
    return line.substr(l + 1, r - l - 1);
}

std::string tracefs_location() {
    for (const char* p : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
        if (exists(std::string(p) + "/events")) return std::string("mounted at ") + p;
    return "not mounted (tp_btf hooks attach through BTF and do not need it)";
}

// A two-instruction program: r0 = 0; exit.
struct bpf_insn trivial_insns[2] = {
    {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
    {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
};

std::string errno_text(int err) {
    return std::strerror(err);
}

// Loads and attaches a trivial tracing program to a BTF id, then lets both go.
ProbeResult probe_tracing(struct btf* vmlinux, AttachKind kind, const std::string& name) {
    if (!vmlinux) return {false, "no kernel BTF"};
    std::string btf_name = kind == AttachKind::tp_btf ? "btf_trace_" + name : name;
    int btf_kind = kind == AttachKind::tp_btf ? BTF_KIND_TYPEDEF : BTF_KIND_FUNC;
    int id = btf__find_by_name_kind(vmlinux, btf_name.c_str(), btf_kind);
    if (id < 0)
        return {false, kind == AttachKind::tp_btf ? "tracepoint " + name + " not in kernel BTF"
                                                  : "function " + name + " not in kernel BTF"};
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.expected_attach_type = kind == AttachKind::fentry  ? BPF_TRACE_FENTRY
                                : kind == AttachKind::fexit ? BPF_TRACE_FEXIT
                                                            : BPF_TRACE_RAW_TP;
    opts.attach_btf_id = static_cast<__u32>(id);
    UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_TRACING, "cs_probe", "GPL", trivial_insns, 2, &opts));
    if (!prog) return {false, "load: " + errno_text(errno)};
    UniqueFd link(bpf_raw_tracepoint_open(nullptr, prog.get()));
    if (!link) return {false, "attach: " + errno_text(errno)};
    return {true, ""};
}

// A cgroup getsockopt program that allows every call: r0 = 1; exit.
ProbeResult probe_cgroup_getsockopt() {
    const struct bpf_insn allow[2] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.expected_attach_type = BPF_CGROUP_GETSOCKOPT;
    UniqueFd prog(bpf_prog_load(BPF_PROG_TYPE_CGROUP_SOCKOPT, "cs_probe", "GPL", allow, 2, &opts));
    if (!prog) return {false, "load (cgroup/getsockopt): " + errno_text(errno)};
    return {true, ""};
}

KernelFeatures probe_kernel() {
    KernelFeatures f;
    struct utsname u {};
    if (uname(&u) == 0) f.release = u.release;
    f.lockdown = lockdown_mode();
    f.tracefs = tracefs_location();
    f.kprobes = exists("/sys/bus/event_source/devices/kprobe/type");

    libbpf_print_fn_t old = libbpf_set_print(nullptr); // probing failures are expected
    struct btf* vmlinux = btf__load_vmlinux_btf();
    if (!vmlinux) {
        f.btf = false;
        f.btf_detail = "no kernel BTF (/sys/kernel/btf/vmlinux: " + errno_text(errno) + ")";
    } else {
        f.btf = true;
        f.btf_detail = "/sys/kernel/btf/vmlinux";
    }

    {
        LIBBPF_OPTS(bpf_prog_load_opts, opts);
        UniqueFd fd(
            bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "cs_probe", "GPL", trivial_insns, 2, &opts));
        f.bpf = fd ? ProbeResult{true, ""}
                   : ProbeResult{false, "bpf(BPF_PROG_LOAD): " + errno_text(errno) +
                                            (geteuid() != 0 ? " (not root: needs CAP_BPF and "
                                                              "CAP_PERFMON, or root)"
                                                            : "")};
    }

    f.cgroup_getsockopt = f.bpf.ok ? probe_cgroup_getsockopt() : f.bpf;
    for (const auto& hook : hook_catalog())
        for (const auto& form : hook.forms)
            for (const auto& need : form.needs)
                for (const auto& name : need.names) {
                    auto& m = f.probes(need.kind);
                    if (m.count(name)) continue;
                    m[name] = f.bpf.ok ? probe_tracing(vmlinux, need.kind, name)
                                       : ProbeResult{false, f.bpf.reason};
                }
    btf__free(vmlinux);
    libbpf_set_print(old);
    return f;
}

} // namespace

const char* to_string(AttachKind k) {
    return k == AttachKind::fentry ? "fentry" : k == AttachKind::fexit ? "fexit" : "tp_btf";
}

const ProbeResult& KernelFeatures::probe(AttachKind kind, const std::string& name) const {
    static const ProbeResult not_probed{false, "not probed"};
    const auto& m = kind == AttachKind::fentry  ? fentry
                    : kind == AttachKind::fexit ? fexit
                                                : tp_btf;
    auto it = m.find(name);
    return it == m.end() ? not_probed : it->second;
}

std::map<std::string, ProbeResult>& KernelFeatures::probes(AttachKind kind) {
    return kind == AttachKind::fentry ? fentry : kind == AttachKind::fexit ? fexit : tp_btf;
}

const KernelFeatures& kernel_features() {
    static const KernelFeatures features = probe_kernel(); // once per process
    return features;
}

} // namespace copyscope
