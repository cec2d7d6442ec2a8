#include "tracer/tracer.h"

#include <arpa/inet.h>
#include <cerrno>
#include <sys/socket.h>

#include "common/unique_fd.h"

#include "common/errors.h"
#include "lab/lab.h"
#include "ledger/ledger.h"
#include "tracer/bpf_tracer.h"

namespace copyscope {
namespace {

// The cookie of a namespace (SO_NETNS_COOKIE, 5.14+) from a socket made inside it.
uint64_t netns_cookie(const NetNs& ns) {
    NetnsGuard in(ns);
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) throw RunError(errno_message("socket (for the netns cookie)", errno));
    uint64_t cookie = 0;
    socklen_t len = sizeof cookie;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
        throw RunError(errno_message("getsockopt(SO_NETNS_COOKIE)", errno));
    return cookie;
}

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
                if (!use.form) {
                    unavailable_ = "no hook can be attached: " + use.form.reason();
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

    void cell_begin(const CellSpec& spec, const Lab& lab) override {
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
            if (spec.receive == Receive::zerocopy && lab.has_local_receiver())
                bpf_->watch_netns_cookie(receiver_ns_, netns_cookie(lab.receiver_ns()));
        } catch (const RunError& e) {
            cell_error_ = e.what();
        }
    }

    void cell_end(CellResult& result) override {
        LedgerInput in;
        in.strategy = result.spec.strategy;
        in.transport = result.spec.transport;
        in.protocol = result.spec.protocol;
        in.receive = result.spec.receive;
        in.app = result.app;
        in.zerocopy = result.zerocopy;
        if (bpf_) {
            in.hook_mode = bpf_->plan().mode;
            in.tracer_note = load_note_;
            if (!nic_peer_.empty())
                in.socket_filter =
                    "copyscope's own namespace is shared with the host: socket counts (send, "
                    "receive, retransmits, completions) only for TCP sockets connected to " +
                    nic_peer_ +
                    " (\"sender\") or bound to it (\"local_sink\"); device "
                    "counts (zerocopy skbs, deferred copies) for the whole namespace";
        }
        if (!bpf_)
            in.tracer_unavailable = unavailable_;
        else if (!cell_error_.empty())
            in.tracer_unavailable = cell_error_;
        else
            read_counts(in);
        LedgerResult out = compute_ledger(in);
        result.ledger = std::move(out.ledger);
        for (auto& c : out.checks)
            result.checks.push_back(std::move(c));
    }

  private:
    // What the BPF counters saw in the cell's namespaces.
    void read_counts(LedgerInput& in) const {
        try {
            TracerView tv;
            tv.hooks = bpf_->plan().uses;
            tv.sender_ns = sender_ns_;
            tv.receiver_ns = receiver_ns_;
            tv.sender = bpf_->read(sender_ns_);
            if (receiver_ns_ != sender_ns_) tv.receiver = bpf_->read(receiver_ns_);
            // The router's own copies (before 6.17 forwarding copied zerocopy skbs at the
            // first receive) are charged to it, not to either end.
            tv.router_ns = router_ns_;
            if (router_ns_) tv.router = bpf_->read(router_ns_);
            if (!nic_peer_.empty()) tv.local_sink = bpf_->read_peer_bound();
            tv.missed_events = bpf_->missed_events();
            in.tracer = std::move(tv);
        } catch (const RunError& e) {
            in.tracer_unavailable = e.what();
        }
    }

    std::unique_ptr<BpfTracer> bpf_;
    std::string unavailable_;
    std::string load_note_;
    std::string cell_error_;
    uint64_t sender_ns_ = 0;
    uint64_t receiver_ns_ = 0;
    uint64_t router_ns_ = 0;
    std::string nic_peer_; // nic: "ADDR:PORT" of the sink; empty otherwise
};

} // namespace

std::unique_ptr<CellObserver> make_tracer(const TracerOptions& options) {
    return std::make_unique<TracerObserver>(options);
}

} // namespace copyscope
