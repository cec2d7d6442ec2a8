#include "tracer/tracer.h"

#include <sstream>

#include <arpa/inet.h>

#include "common/errors.h"
#include "lab/lab.h"
#include "ledger/ledger.h"
#include "tracer/bpf_tracer.h"

namespace copyscope {
namespace {

class TracerObserver final : public CellObserver {
  public:
    explicit TracerObserver(const TracerOptions& options) {
        const KernelFeatures& features = kernel_features();
        if (!features.btf) {
            unavailable_ = "no kernel BTF: " + features.btf_detail;
            return;
        }
        if (!features.bpf.ok) {
            unavailable_ = "BPF programs cannot be loaded: " + features.bpf.reason;
            return;
        }
        HookPlan plan = plan_hooks(features, options.hooks);
        if (plan.programs.empty()) {
            // Nothing to attach (e.g. tracing programs refused): the ledger says why.
            for (const auto& use : plan.uses)
                if (!use.unsupported.empty()) {
                    unavailable_ = "no hook can be attached: " + use.unsupported;
                    break;
                }
            if (unavailable_.empty()) unavailable_ = "no hook can be attached";
            return;
        }
        try {
            bpf_ = std::make_unique<BpfTracer>(plan);
        } catch (const RunError& e) {
            if (options.hooks == HookMode::prefer_tracepoints) {
                unavailable_ = e.what();
                return;
            }
            // A preferred form that probed fine but failed in the real object: fall back
            // to the tracepoint forms rather than lose the ledger, and say so.
            HookPlan fallback = plan_hooks(features, HookMode::prefer_tracepoints);
            try {
                bpf_ = std::make_unique<BpfTracer>(fallback);
                load_note_ = std::string("preferred forms failed to load (") + e.what() +
                             "); tracepoint forms used";
            } catch (const RunError& e2) {
                unavailable_ = e2.what();
            }
        }
    }

    void cell_begin(const CellSpec& /*spec*/, const Lab& lab) override {
        cell_error_.clear();
        sender_ns_ = lab.sender_ns().inode();
        receiver_ns_ = lab.receiver_ns().inode();
        router_ns_ = lab.router_ns() ? lab.router_ns()->inode() : 0;
        nic_peer_.clear();
        if (!bpf_) return;
        try {
            std::optional<BpfTracer::PeerFilter> peer;
            if (lab.transport() == Transport::nic) {
                // copyscope's own namespace carries the rest of the host's traffic too.
                in_addr a{};
                if (::inet_pton(AF_INET, lab.receiver_address().c_str(), &a) != 1)
                    throw RunError("tracer: peer address '" + lab.receiver_address() +
                                   "' is not IPv4");
                peer = BpfTracer::PeerFilter{sender_ns_, a.s_addr, lab.receiver_port()};
                nic_peer_ = lab.receiver_address() + ":" + std::to_string(lab.receiver_port());
            }
            bpf_->watch(lab.namespace_inodes(), peer);
        } catch (const RunError& e) {
            cell_error_ = e.what();
        }
    }

    void cell_end(CellResult& result) override {
        LedgerInput in;
        in.strategy = result.spec.strategy;
        in.transport = result.spec.transport;
        in.app = result.app;
        in.zerocopy = result.zerocopy;
        if (!bpf_) {
            in.tracer_unavailable = unavailable_;
        } else if (!cell_error_.empty()) {
            in.tracer_unavailable = cell_error_;
        } else {
            try {
                TracerView tv;
                tv.hooks = bpf_->plan().uses;
                tv.sender_ns = sender_ns_;
                tv.receiver_ns = receiver_ns_;
                tv.sender = bpf_->read(sender_ns_);
                if (receiver_ns_ != sender_ns_) tv.receiver = bpf_->read(receiver_ns_);
                // The router's own copies (before 6.17 forwarding copied zerocopy skbs at
                // the first receive) are charged to it, not to either end.
                tv.router_ns = router_ns_;
                if (router_ns_) tv.router = bpf_->read(router_ns_);
                if (!nic_peer_.empty()) tv.local_sink = bpf_->read_peer_bound();
                tv.missed_events = bpf_->missed_events();
                in.tracer = std::move(tv);
            } catch (const RunError& e) {
                in.tracer_unavailable = e.what();
            }
        }
        LedgerResult out = compute_ledger(in);
        if (bpf_) {
            out.ledger["tracer"]["hook_mode"] = std::string(to_string(bpf_->plan().mode));
            if (!load_note_.empty()) out.ledger["tracer"]["note"] = load_note_;
            if (!nic_peer_.empty())
                out.ledger["tracer"]["socket_filter"] =
                    "copyscope's own namespace is shared with the host: socket counts (send, "
                    "receive, retransmits, completions) only for TCP sockets connected to " +
                    nic_peer_ +
                    " (\"sender\") or bound to it (\"local_sink\"); device "
                    "counts (zerocopy skbs, deferred copies) for the whole namespace";
        }
        result.ledger = std::move(out.ledger);
        for (auto& c : out.checks)
            result.checks.push_back(std::move(c));
    }

  private:
    std::unique_ptr<BpfTracer> bpf_;
    std::string unavailable_;
    std::string load_note_;
    std::string cell_error_;
    uint64_t sender_ns_ = 0;
    uint64_t receiver_ns_ = 0;
    uint64_t router_ns_ = 0;
    std::string nic_peer_; // nic: "ADDR:PORT" of the sink; empty otherwise
};

const char* kind_text(bool ok) {
    return ok ? "yes" : "no";
}

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (size_t i = 0; i < v.size(); ++i)
        out += (i ? sep : "") + v[i];
    return out;
}

} // namespace

std::unique_ptr<CellObserver> make_tracer(const TracerOptions& options) {
    return std::make_unique<TracerObserver>(options);
}

nlohmann::json tracer_doctor() {
    const KernelFeatures& f = kernel_features();
    nlohmann::json j;
    j["kernel_release"] = f.release;
    j["btf"] = {{"present", f.btf}, {"detail", f.btf_detail}};
    j["lockdown"] = f.lockdown;
    j["tracefs"] = f.tracefs;
    j["kprobes"] = f.kprobes;
    j["bpf"] = {{"can_load", f.bpf.ok}, {"reason", f.bpf.reason}};
    const HookPlan auto_plan = plan_hooks(f, HookMode::automatic);
    const HookPlan tp_plan = plan_hooks(f, HookMode::prefer_tracepoints);
    nlohmann::json hooks = nlohmann::json::array();
    const auto& catalog = hook_catalog();
    for (size_t i = 0; i < catalog.size(); ++i) {
        const HookSpec& spec = catalog[i];
        nlohmann::json forms = nlohmann::json::array();
        for (const auto& form : spec.forms) {
            ResolvedForm r = resolve(form, f);
            std::vector<std::string> wanted;
            for (const auto& need : form.needs)
                wanted.push_back(join(need.names, "|"));
            nlohmann::json fj = {{"mechanism", form.mechanism},
                                 {"targets", r.available ? r.targets : wanted},
                                 {"count", form.exact ? "exact" : "inferred"},
                                 {"available", r.available},
                                 {"note", form.note}};
            if (!r.available) fj["reason"] = r.reason;
            forms.push_back(fj);
        }
        auto chosen = [](const HookUse& u) -> nlohmann::json {
            if (!u.unsupported.empty()) return {{"unsupported", u.unsupported}};
            return u.mechanism;
        };
        hooks.push_back({{"hook", spec.name},
                         {"what", spec.what},
                         {"forms", forms},
                         {"chosen",
                          {{"auto", chosen(auto_plan.uses[i])},
                           {"prefer-tracepoints", chosen(tp_plan.uses[i])}}}});
    }
    j["hooks"] = hooks;
    return j;
}

std::string render_tracer_doctor(const nlohmann::json& d) {
    std::ostringstream out;
    out << "kernel     " << d.value("kernel_release", "") << "\n";
    out << "BTF        " << (d["btf"]["present"].get<bool>() ? "yes (" : "no (")
        << d["btf"]["detail"].get<std::string>() << ")\n";
    out << "lockdown   " << d.value("lockdown", "") << "\n";
    out << "tracefs    " << d.value("tracefs", "") << "\n";
    out << "kprobes    " << kind_text(d.value("kprobes", false)) << "\n";
    out << "BPF load   "
        << (d["bpf"]["can_load"].get<bool>() ? std::string("yes")
                                             : "no: " + d["bpf"]["reason"].get<std::string>())
        << "\n\n";

    char line[512];
    std::snprintf(line, sizeof line, "%-14s %-10s %-45s %-9s %-6s %s\n", "hook", "form", "targets",
                  "count", "usable", "chosen by --hooks");
    out << line;
    for (const auto& h : d["hooks"]) {
        bool first = true;
        for (const auto& form : h["forms"]) {
            std::vector<std::string> targets = form["targets"].get<std::vector<std::string>>();
            std::string chosen_by;
            const std::string mech = form["mechanism"].get<std::string>();
            for (const char* mode : {"auto", "prefer-tracepoints"}) {
                const auto& c = h["chosen"][mode];
                if (c.is_string() && c.get<std::string>() == mech)
                    chosen_by += (chosen_by.empty() ? "" : ", ") + std::string(mode);
            }
            std::snprintf(line, sizeof line, "%-14s %-10s %-45s %-9s %-6s %s\n",
                          first ? h["hook"].get<std::string>().c_str() : "", mech.c_str(),
                          join(targets, ", ").c_str(), form["count"].get<std::string>().c_str(),
                          form["available"].get<bool>() ? "yes" : "no", chosen_by.c_str());
            out << line;
            if (!form["available"].get<bool>())
                out << std::string(26, ' ') << "why not: " << form["reason"].get<std::string>()
                    << "\n";
            first = false;
        }
        for (const char* mode : {"auto", "prefer-tracepoints"}) {
            const auto& c = h["chosen"][mode];
            if (c.is_object())
                out << std::string(26, ' ') << "--hooks " << mode
                    << ": unsupported: " << c["unsupported"].get<std::string>() << "\n";
        }
    }
    return out.str();
}

} // namespace copyscope
