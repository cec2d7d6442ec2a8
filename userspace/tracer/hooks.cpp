#include "tracer/hooks.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "common/errors.h"
#include "common/unique_fd.h"

namespace copyscope {

HookMode parse_hook_mode(std::string_view text) {
    if (text == "auto") return HookMode::automatic;
    if (text == "prefer-tracepoints") return HookMode::prefer_tracepoints;
    throw UsageError("--hooks: unknown value '" + std::string(text) +
                     "'; allowed: auto, prefer-tracepoints");
}

std::string_view to_string(HookMode mode) {
    return mode == HookMode::automatic ? "auto" : "prefer-tracepoints";
}

const ProbeResult& KernelFeatures::probe(AttachKind kind, const std::string& name) const {
    static const ProbeResult not_probed{false, "not probed"};
    const auto& m = kind == AttachKind::fentry  ? fentry
                    : kind == AttachKind::fexit ? fexit
                                                : tp_btf;
    auto it = m.find(name);
    return it == m.end() ? not_probed : it->second;
}

// ---- the hook catalog --------------------------------------------------------------------

const std::vector<HookSpec>& hook_catalog() {
    static const std::vector<HookSpec> catalog = {
        {hook_send,
         "send totals and the copy/pin/fallback split of every sendmsg",
         {
             {"fexit",
              false,
              true,
              "tcp_sendmsg_locked's return value, split by its own zerocopy decision "
              "(MSG_ZEROCOPY, SOCK_ZEROCOPY or msg_ubuf, route NETIF_F_SG)",
              {{AttachKind::fexit, {"tcp_sendmsg_locked"}}},
              {"cs_send_fexit"},
              {}},
             {"tp_btf",
              true,
              true,
              "sock_send_length's return value, split by the zerocopy decision inputs seen at "
              "the tcp_sendmsg_locked tracepoint (6.16+) of the same task",
              {{AttachKind::tp_btf, {"tcp_sendmsg_locked"}},
               {AttachKind::tp_btf, {"sock_send_length"}}},
              {"cs_send_tp_msg", "cs_send_tp_ret"},
              {}},
         }},
        {hook_pinned_pages,
         "pages spanned by zerocopy fragments leaving the sender",
         {
             {"tp_btf",
              true,
              false,
              "fragments of zerocopy skbs with a socket at net_dev_start_xmit; a retransmitted "
              "zerocopy skb is counted again",
              {{AttachKind::tp_btf, {"net_dev_start_xmit"}}},
              {"cs_xmit"},
              {}},
         }},
        {hook_deferred,
         "zerocopy pages copied after the send (skb_copy_ubufs)",
         {
             {"fexit",
              false,
              true,
              "bytes in the fragments skb_copy_ubufs replaced",
              {{AttachKind::fexit, {"skb_copy_ubufs"}}},
              {"cs_deferred_fexit"},
              {}},
             {"inferred",
              true,
              false,
              "zerocopy bytes received in a namespace (netif_receive_skb) minus those "
              "forwarded on (no socket at net_dev_start_xmit): since 6.17 zerocopy pages are "
              "copied at local delivery only",
              {{AttachKind::tp_btf, {"netif_receive_skb"}},
               {AttachKind::tp_btf, {"net_dev_start_xmit"}}},
              {"cs_rx", "cs_xmit"},
              {}},
         }},
        {hook_receive,
         "bytes copied from skbs to the receiver",
         {
             {"tp_btf",
              true,
              true,
              "len at skb_copy_datagram_iovec, the copy to the iovec",
              {{AttachKind::tp_btf, {"skb_copy_datagram_iovec"}}},
              {"cs_recv"},
              {}},
         }},
        {hook_retransmits,
         "bytes TCP sent again",
         {
             {"tp_btf",
              true,
              true,
              "skb->len at tcp_retransmit_skb",
              {{AttachKind::tp_btf, {"tcp_retransmit_skb"}}},
              {"cs_retrans"},
              {}},
         }},
        {hook_completions,
         "MSG_ZEROCOPY completions and those flagged COPIED",
         {
             {"fentry",
              false,
              false,
              "sends covered by a ubuf_info when its last reference is released "
              "(msg_zerocopy_complete, 6.10+; msg_zerocopy_callback before)",
              {{AttachKind::fentry, {"msg_zerocopy_complete", "msg_zerocopy_callback"}}},
              {"cs_zc_complete"},
              "cs_zc_complete"},
             {"userspace",
              true,
              true,
              "the runner's own MSG_ERRQUEUE reads (SO_EE_ORIGIN_ZEROCOPY ranges)",
              {},
              {},
              {}},
         }},
    };
    return catalog;
}

// ---- probing -------------------------------------------------------------------------------

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

    for (const auto& hook : hook_catalog())
        for (const auto& form : hook.forms)
            for (const auto& need : form.needs)
                for (const auto& name : need.names) {
                    auto& m = need.kind == AttachKind::fentry  ? f.fentry
                              : need.kind == AttachKind::fexit ? f.fexit
                                                               : f.tp_btf;
                    if (m.count(name)) continue;
                    m[name] = f.bpf.ok ? probe_tracing(vmlinux, need.kind, name)
                                       : ProbeResult{false, f.bpf.reason};
                }
    btf__free(vmlinux);
    libbpf_set_print(old);
    return f;
}

const char* kind_name(AttachKind k) {
    return k == AttachKind::fentry ? "fentry" : k == AttachKind::fexit ? "fexit" : "tp_btf";
}

} // namespace

const KernelFeatures& kernel_features() {
    static const KernelFeatures features = probe_kernel(); // once per process
    return features;
}

ResolvedForm resolve(const HookForm& form, const KernelFeatures& features) {
    ResolvedForm r;
    r.available = true;
    for (const auto& need : form.needs) {
        std::string found;
        std::string why;
        for (const auto& name : need.names) {
            const ProbeResult& p = features.probe(need.kind, name);
            if (p.ok) {
                found = name;
                break;
            }
            why += (why.empty() ? "" : "; ") + std::string(kind_name(need.kind)) + " " + name +
                   ": " + p.reason;
        }
        if (found.empty()) {
            r.available = false;
            r.reason += (r.reason.empty() ? "" : "; ") + why;
        } else if (std::find(r.targets.begin(), r.targets.end(), found) == r.targets.end()) {
            r.targets.push_back(found);
        }
    }
    if (form.mechanism == "userspace") r.targets = {"MSG_ERRQUEUE (runner)"};
    return r;
}

HookPlan plan_hooks(const KernelFeatures& features, HookMode mode) {
    HookPlan plan;
    plan.mode = mode;
    for (const auto& hook : hook_catalog()) {
        HookUse use;
        use.hook = hook.name;
        std::string reasons;
        bool chosen = false;
        for (const auto& form : hook.forms) {
            if (mode == HookMode::prefer_tracepoints && !form.tracepoint_path) {
                reasons += (reasons.empty() ? "" : "; ") + form.mechanism +
                           ": skipped (--hooks prefer-tracepoints)";
                continue;
            }
            ResolvedForm r = resolve(form, features);
            if (!r.available) {
                reasons += (reasons.empty() ? "" : "; ") + r.reason;
                continue;
            }
            use.mechanism = form.mechanism;
            use.targets = r.targets;
            use.exact = form.exact;
            use.note = form.note;
            for (const std::string& p : form.programs)
                if (std::find(plan.programs.begin(), plan.programs.end(), p) == plan.programs.end())
                    plan.programs.push_back(p);
            if (!form.retargeted_program.empty())
                plan.attach_targets[form.retargeted_program] = r.targets.front();
            chosen = true;
            break;
        }
        if (!chosen) use.unsupported = "no usable form: " + reasons;
        plan.uses.push_back(use);
    }
    return plan;
}

} // namespace copyscope
