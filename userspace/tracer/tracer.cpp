#include "tracer/tracer.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <optional>
#include <sys/socket.h>
#include <unistd.h>
#include <utility>
#include <vector>

#include "common/unique_fd.h"

#include "common/errors.h"
#include "lab/lab.h"
#include "ledger/ledger.h"
#include "tracer/bpf_tracer.h"
#include "tracer/send_limits.h"

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
        send_limits_.reset();
        if (spec.strategy == Strategy::zero_copy) send_limits_ = read_send_limits(lab.sender_ns());
        stats_.reset();
        sender_ns_ = lab.sender_ns().inode();
        receiver_ns_ = lab.receiver_ns().inode();
        router_ns_ = lab.router_ns() ? lab.router_ns()->inode() : 0;
        sender_device_ = lab.sender_device();
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
            begin_cost();
        } catch (const RunError& e) {
            cell_error_ = e.what();
        }
    }

    void cell_end(CellResult& result) override {
        result.tracer_cost = end_cost();
        LedgerInput in;
        in.strategy = result.spec.strategy;
        in.transport = result.spec.transport;
        in.protocol = result.spec.protocol;
        in.receive = result.spec.receive;
        in.app = result.app;
        in.zerocopy = result.zerocopy;
        in.io_uring = result.io_uring;
        in.kernel_release = kernel_features().release;
        in.send_limits = send_limits_;
        if (result.spec.protocol == Protocol::udp)
            in.udp_send = udp_send_settings(result.spec, sender_device_);
        if (result.spec.warmup_seconds > 0)
            in.straddling_bytes = uint64_t(result.spec.threads) * result.spec.message_size;
        if (bpf_) {
            in.hook_mode = bpf_->plan().mode;
            in.tracer_note = load_note_;
            if (!nic_peer_.empty())
                in.socket_filter =
                    "copyscope's own namespace is shared with the host: socket counts (send, "
                    "receive, retransmits, completions) only for TCP sockets connected to " +
                    nic_peer_ +
                    " (\"sender\") or bound to it (\"local_sink\"); device-level counts "
                    "(zerocopy skbs, copy sites) only for skbs of those flows (the socket "
                    "named by an skb's MSG_ZEROCOPY uarg, else its own)";
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
        if (in.tracer && bpf_->plan().tracepoint_uses) tracepoint_ledger(in, result);
    }

  private:
    // --hooks both: the same cell through the tracepoint forms, from their own counts of the
    // send hook and the shared counts of the rest; its checks are the cell's too.
    void tracepoint_ledger(LedgerInput in, CellResult& result) const {
        TracerView& tv = *in.tracer;
        tv.hooks = *bpf_->plan().tracepoint_uses;
        try {
            tv.sender = with_send_counts(tv.sender, bpf_->read_tracepoint_send(sender_ns_));
            if (receiver_ns_ != sender_ns_)
                tv.receiver =
                    with_send_counts(tv.receiver, bpf_->read_tracepoint_send(receiver_ns_));
            if (router_ns_)
                tv.router = with_send_counts(tv.router, bpf_->read_tracepoint_send(router_ns_));
            if (tv.local_sink)
                tv.local_sink = with_send_counts(*tv.local_sink, bpf_->read_peer_bound(true));
        } catch (const RunError& e) {
            in.tracer.reset();
            in.tracer_unavailable = e.what();
        }
        in.hook_mode = HookMode::prefer_tracepoints;
        LedgerResult out = compute_ledger(in);
        result.tracepoint_ledger = std::move(out.ledger);
        for (auto& c : out.checks) {
            c.name = "tracepoint path: " + c.name;
            result.checks.push_back(std::move(c));
        }
    }

    // The programs' own cost: the kernel's run-time statistics on for the cell only, each
    // program's runs and nanoseconds taken at its begin and end.
    // Never throws: a cost that cannot be read is unsupported, the ledger still comes.
    void begin_cost() {
        stats_.emplace();
        cost_at_begin_.clear();
        cost_error_.clear();
        try {
            if (stats_->enabled()) cost_at_begin_ = bpf_->program_costs();
        } catch (const RunError& e) {
            cost_error_ = e.what();
        }
        cost_began_ = std::chrono::steady_clock::now();
    }

    Measured<TracerCost> end_cost() {
        // Whatever happens below, the statistics are off again when this returns.
        std::optional<RunTimeStats> stats = std::exchange(stats_, std::nullopt);
        if (!bpf_) return Unsupported{"no BPF programs loaded: " + unavailable_};
        if (!cell_error_.empty()) return Unsupported{cell_error_};
        if (!stats) return Unsupported{"the kernel's BPF run-time statistics were not taken"};
        if (!stats->enabled()) return Unsupported{stats->why_not()};
        if (!cost_error_.empty()) return Unsupported{cost_error_};
        TracerCost cost;
        try {
            cost.programs = bpf_->program_costs();
        } catch (const RunError& e) {
            return Unsupported{e.what()};
        }
        stats.reset(); // off again as soon as they are read
        cost.seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - cost_began_).count();
        const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
        cost.cpus = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
        for (ProgramCost& p : cost.programs)
            for (const ProgramCost& before : cost_at_begin_)
                if (before.name == p.name) {
                    p.run_count -= before.run_count;
                    p.run_time_ns -= before.run_time_ns;
                }
        return cost;
    }

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
    std::optional<SendLimits> send_limits_;
    std::optional<SendDevice> sender_device_; // udp cells: what __ip_append_data looks at

    // The programs' cost: the kernel's run-time statistics, on from cell_begin to cell_end;
    // each program's figures then; why they could not be read then, if they could not.
    std::optional<RunTimeStats> stats_;
    std::vector<ProgramCost> cost_at_begin_;
    std::string cost_error_;
    std::chrono::steady_clock::time_point cost_began_;
};

} // namespace

std::unique_ptr<CellObserver> make_tracer(const TracerOptions& options) {
    return std::make_unique<TracerObserver>(options);
}

} // namespace copyscope
