#include "trace/session.h"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <dirent.h>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <poll.h>
#include <sstream>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>

#include "common/capabilities.h"
#include "common/errors.h"
#include "common/unique_fd.h"
#include "metrics/server.h"
#include "report/trace_report.h"
#include "sockets_shared.h"
#include "trace/assemble.h"
#include "trace/live.h"
#include "trace/socket_table.h"
#include "trace/trace_metrics.h"
#include "tracer/bpf_tracer.h"
#include "tracer/hooks.h"
#include "workload/child_cgroup.h"
#include "workload/command.h"
#include "workload/procfs.h"
#include "workload/signals.h"

namespace copyscope {
namespace {

using clock = std::chrono::steady_clock;

// ---- before anything starts ---------------------------------------------------------------

void check_privileges() {
    if (!current_capabilities().has(CAP_SYS_ADMIN))
        throw UsageError("copyscope trace loads BPF programs and makes a cgroup, which needs "
                         "root (CAP_SYS_ADMIN)");
}

// The per-socket table's size: at most 8192 entries and 64 MiB (values are per CPU).
uint32_t table_capacity() {
    const int cpus = std::max(1, libbpf_num_possible_cpus());
    const uint64_t per_entry = ((sizeof(cs_sock_value) + 7) & ~size_t(7)) * uint64_t(cpus);
    return uint32_t(std::clamp<uint64_t>((64ull << 20) / per_entry, 256, 8192));
}

// sendfile and splice send through tcp_sendmsg_locked with MSG_SPLICE_PAGES since 6.5; the
// function that splices them there came with it.
TraceKernel trace_kernel() {
    TraceKernel k;
    libbpf_print_fn_t old = libbpf_set_print(nullptr);
    if (btf* vmlinux = btf__load_vmlinux_btf()) {
        k.splice_pages_at_send =
            btf__find_by_name_kind(vmlinux, "skb_splice_from_iter", BTF_KIND_FUNC) > 0;
        btf__free(vmlinux);
    }
    libbpf_set_print(old);
    return k;
}

// The descendants of the traced processes that exist already (sched_process_fork catches the
// later ones): parents from /proc/PID/stat.
std::vector<uint32_t> with_descendants(const std::vector<ProcessTarget>& targets) {
    std::multimap<uint32_t, uint32_t> children;
    if (DIR* d = ::opendir("/proc")) {
        while (dirent* e = ::readdir(d)) {
            auto pid = parse_positive(e->d_name, 1 << 30);
            if (!pid) continue;
            auto stat = read_text_file("/proc/" + std::string(e->d_name) + "/stat");
            if (!stat) continue;
            auto close = stat->rfind(')');
            if (close == std::string::npos || close + 4 > stat->size()) continue;
            const uint32_t ppid = uint32_t(std::strtoul(stat->c_str() + close + 4, nullptr, 10));
            children.insert({ppid, uint32_t(*pid)});
        }
        ::closedir(d);
    }
    std::vector<uint32_t> out;
    for (const ProcessTarget& t : targets)
        out.push_back(uint32_t(t.pid));
    for (size_t i = 0; i < out.size() && out.size() < 4096; ++i) {
        auto [from, to] = children.equal_range(out[i]);
        for (auto it = from; it != to; ++it)
            if (std::find(out.begin(), out.end(), it->second) == out.end())
                out.push_back(it->second);
    }
    return out;
}

UniqueFd pidfd_of(pid_t pid) {
    return UniqueFd(int(::syscall(SYS_pidfd_open, pid, 0)));
}

// ---- the session --------------------------------------------------------------------------

class Session {
  public:
    Session(const TraceOptions& o, TraceScope scope)
        : o_(o), scope_(std::move(scope)), live_(LiveView::mode_for(o.quiet, STDERR_FILENO)) {}

    void start_metrics();
    void watch_processes();
    void load();
    void start_targets();
    int run();

  private:
    TraceTables tables() const;
    std::string sockopt_cgroup_dir() const;
    void fill_scope_maps();
    void tick(bool show);
    TraceEnd wait_for_end();
    int stop_command(TraceEnd end);
    void write_report(TraceEnd end);
    void print_summary() const;

    const TraceOptions& o_;
    TraceScope scope_;
    LiveView live_;
    std::shared_ptr<MetricsSnapshot> snapshot_;
    std::unique_ptr<MetricsServer> server_;
    std::optional<ChildCgroup> cgroup_;
    std::unique_ptr<BpfTracer> bpf_;
    std::string load_note_;
    std::unique_ptr<SocketTable> table_;
    std::optional<RunTimeStats> stats_;
    std::vector<ProgramCost> cost_at_start_;
    std::optional<SignalForwarder> signals_;
    std::optional<ChildProcess> child_;
    std::vector<UniqueFd> target_pidfds_;
    size_t targets_gone_early_ = 0; // --pid processes that exited before they were watched
    std::optional<CgroupNames> names_;
    TraceKernel kernel_;
    uint32_t capacity_ = table_capacity();
    TraceLedger ledger_;
    std::string started_at_;
    clock::time_point start_;
    std::optional<int> exit_status_;
    std::string end_detail_;
};

void Session::start_metrics() {
    if (o_.metrics.empty()) return;
    snapshot_ = std::make_shared<MetricsSnapshot>();
    auto snapshot = snapshot_;
    // Binds now: a port in use is a UsageError before anything else starts.
    server_ = std::make_unique<MetricsServer>(o_.metrics, [snapshot] { return snapshot->get(); });
}

TraceTables Session::tables() const {
    TraceTables t;
    t.max_entries = capacity_;
    if (scope_.who == TraceWho::pids) t.scope_flags |= CS_SCOPE_PID;
    if (scope_.cgroup) {
        t.scope_flags |= CS_SCOPE_CGROUP;
        t.cgroup_id = scope_.cgroup->id;
        t.cgroup_level = uint32_t(scope_.cgroup->depth);
    }
    if (!scope_.netns.empty()) t.scope_flags |= CS_SCOPE_NETNS;
    t.sockopt_cgroup_dir = sockopt_cgroup_dir();
    return t;
}

// Where TCP_ZEROCOPY_RECEIVE's getsockopt program attaches: the scope's cgroup (--cgroup,
// COMMAND's own), else the hierarchy's root (--pid, --netns: their processes may be anywhere).
// It counts only sockets already in the table, and its link goes with copyscope.
std::string Session::sockopt_cgroup_dir() const {
    if (scope_.cgroup) return scope_.cgroup->dir;
    if (scope_.mount) return scope_.mount->mount_point;
    try {
        return find_cgroup2_mount().mount_point;
    } catch (const std::exception&) {
        return ""; // copyscope's own, which then says why it is unsupported
    }
}

// The tracer with the trace's hooks; preferred forms that probed fine but fail in the real
// object give way to the tracepoint forms, and the report says so.
void Session::load() {
    const KernelFeatures& features = kernel_features();
    if (!features.btf) throw RunError("copyscope trace needs kernel BTF: " + features.btf_detail);
    if (!features.bpf.ok)
        throw RunError("BPF programs cannot be loaded here: " + features.bpf.reason);
    if (scope_.who == TraceWho::command) {
        cgroup_.emplace(default_trace_parent(*scope_.mount));
        scope_.cgroup = cgroup_->cgroup();
    }
    const HookMode mode = parse_hook_mode(o_.hooks);
    try {
        bpf_ =
            std::make_unique<BpfTracer>(plan_hooks(features, mode, HookPurpose::trace), tables());
    } catch (const RunError& e) {
        if (mode == HookMode::prefer_tracepoints) throw;
        bpf_ = std::make_unique<BpfTracer>(
            plan_hooks(features, HookMode::prefer_tracepoints, HookPurpose::trace), tables());
        load_note_ =
            std::string("preferred forms failed to load (") + e.what() + "); tracepoint forms used";
    }
    fill_scope_maps();
    table_ = std::make_unique<SocketTable>(*bpf_, capacity_);
    kernel_ = trace_kernel();
    if (scope_.mount)
        names_.emplace(scope_.mount->mount_point, scope_.cgroup ? scope_.cgroup->dir : "");
    stats_.emplace();
    if (stats_->enabled()) cost_at_start_ = bpf_->program_costs();
}

void Session::fill_scope_maps() {
    const __u8 one = 1;
    for (const NetnsTarget& n : scope_.netns) {
        __u32 inum = __u32(n.inode);
        if (bpf_map_update_elem(bpf_->map_fd("cs_scope_netns"), &inum, &one, BPF_ANY))
            throw RunError(errno_message("trace: the namespace scope map", errno));
    }
    if (scope_.who != TraceWho::pids) return;
    for (uint32_t pid : with_descendants(scope_.processes))
        if (bpf_map_update_elem(bpf_->map_fd("cs_scope_pids"), &pid, &one, BPF_ANY))
            throw RunError(errno_message("trace: the process scope map", errno));
}

void Session::start_targets() {
    started_at_ = utc_now_iso8601();
    start_ = clock::now();
    signals_.emplace();
    if (scope_.who == TraceWho::command) {
        child_.emplace(ChildProcess::spawn(scope_.command, cgroup_->dir_fd()));
        signals_->forward_to(child_->pidfd());
    }
}

// --pid: each process is watched by a pidfd from before the programs load, so that one that
// exits meanwhile still ends the trace; one already gone (ESRCH) counts as exited.
void Session::watch_processes() {
    for (const ProcessTarget& t : scope_.processes) {
        if (UniqueFd fd = pidfd_of(t.pid))
            target_pidfds_.push_back(std::move(fd));
        else if (errno == ESRCH)
            ++targets_gone_early_;
        else
            throw RunError(errno_message("trace: pidfd_open " + std::to_string(t.pid), errno));
    }
}

void Session::tick(bool show) {
    // A closed socket's entry may leave the kernel's table after a while (when it fills).
    table_->refresh(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(std::max(5.0, 2 * o_.interval_seconds))));
    auto name = [this](uint64_t id) { return names_ ? (*names_)(id) : "id:" + std::to_string(id); };
    ledger_ = assemble(table_->records(), bpf_->plan().uses, kernel_, name);
    const double elapsed = std::chrono::duration<double>(clock::now() - start_).count();
    if (show) live_.update(ledger_, elapsed, table_->entries(), capacity_);
    if (snapshot_) {
        TraceMetricsInput in;
        in.ledger = &ledger_;
        in.hooks = &bpf_->plan().uses;
        in.untracked = table_->untracked();
        in.missed_events = bpf_->missed_events();
        in.version = COPYSCOPE_VERSION;
        in.kernel = probe_host().kernel_release;
        in.scope = scope_.describe();
        snapshot_->publish(trace_metrics(in));
    }
}

// Polls the command's pidfd, the traced processes' pidfds and the signal fd; views every
// interval.
TraceEnd Session::wait_for_end() {
    using namespace std::chrono;
    const auto interval = duration_cast<clock::duration>(duration<double>(o_.interval_seconds));
    const auto deadline =
        o_.duration_seconds > 0
            ? start_ + duration_cast<clock::duration>(duration<double>(o_.duration_seconds))
            : clock::time_point::max();
    auto next = start_ + interval;
    for (;;) {
        std::vector<pollfd> fds{{signals_->wake_fd(), POLLIN, 0}};
        if (child_) fds.push_back({child_->pidfd(), POLLIN, 0});
        for (const UniqueFd& fd : target_pidfds_)
            fds.push_back({fd.get(), POLLIN, 0});
        const auto until = std::min(next, deadline);
        const auto wait = duration_cast<milliseconds>(until - clock::now()).count();
        ::poll(fds.data(), fds.size(), int(std::clamp<long long>(wait, 0, 60000)));
        if (signals_->received()) return TraceEnd::signal;
        if (child_ && (fds[1].revents & POLLIN)) {
            exit_status_ = child_->wait();
            return TraceEnd::command_exited;
        }
        if (!scope_.processes.empty()) {
            size_t gone = targets_gone_early_;
            for (size_t i = 1; i < fds.size(); ++i)
                gone += (fds[i].revents & POLLIN) ? 1 : 0;
            if (gone == target_pidfds_.size() + targets_gone_early_)
                return TraceEnd::processes_exited;
        }
        const auto now = clock::now();
        if (now >= deadline) return TraceEnd::duration;
        if (now >= next) {
            tick(true);
            while (next <= now)
                next += interval;
        }
    }
}

// COMMAND after the trace ended: it had a signal (forwarded, or from the terminal) or is
// told to stop (--duration); bounded, then whatever is left in its cgroup is killed.
int Session::stop_command(TraceEnd end) {
    int status = end == TraceEnd::signal ? 128 + signals_->received() : 0;
    if (!child_) return status;
    if (end == TraceEnd::command_exited) return *exit_status_;
    if (end == TraceEnd::duration) child_->signal(SIGTERM);
    exit_status_ = child_->wait_for(std::chrono::seconds(5));
    if (!exit_status_) {
        child_->signal(SIGKILL);
        exit_status_ = child_->wait();
    }
    return end == TraceEnd::signal ? *exit_status_ : 0;
}

int Session::run() {
    start_targets();
    TraceEnd end = wait_for_end();
    int status = stop_command(end);
    if (end == TraceEnd::command_exited)
        end_detail_ = "COMMAND exited with status " + std::to_string(*exit_status_);
    else if (end == TraceEnd::signal)
        end_detail_ = std::string("stopped by ") + strsignal(signals_->received());
    else if (end == TraceEnd::duration)
        end_detail_ = "--duration " + std::to_string(o_.duration_seconds) + " s elapsed";
    else
        end_detail_ = "every traced process exited";
    if (cgroup_) {
        const ChildCgroup::Removal r = cgroup_->remove();
        if (!r.killed.empty())
            end_detail_ += "; " + std::to_string(r.killed.size()) +
                           " processes left in COMMAND's cgroup were killed";
        if (!r.removed) end_detail_ += "; " + r.error;
    }
    // Counts still on their way (the peer reading the last bytes) settle, then the last view.
    ::usleep(200 * 1000);
    tick(false);
    live_.update(ledger_, std::chrono::duration<double>(clock::now() - start_).count(),
                 table_->entries(), capacity_);
    live_.done();
    write_report(end);
    if (!o_.quiet) print_summary();
    return status;
}

void Session::write_report(TraceEnd end) {
    TraceReport r;
    r.host = probe_host();
    r.command_line = o_.command_line;
    r.hook_mode = bpf_->plan().mode;
    r.hooks = bpf_->plan().uses;
    r.tracer_note = load_note_;
    r.missed_events = bpf_->missed_events();
    if (!stats_->enabled()) {
        r.tracer_cost = Unsupported{stats_->why_not()};
    } else {
        TracerCost cost;
        cost.programs = bpf_->program_costs();
        for (ProgramCost& p : cost.programs)
            for (const ProgramCost& before : cost_at_start_)
                if (before.name == p.name) {
                    p.run_count -= before.run_count;
                    p.run_time_ns -= before.run_time_ns;
                }
        cost.seconds = std::chrono::duration<double>(clock::now() - start_).count();
        cost.cpus = unsigned(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
        r.tracer_cost = cost;
    }
    r.scope.who = to_string(scope_.who);
    r.scope.command = scope_.command;
    for (const ProcessTarget& p : scope_.processes)
        r.scope.processes.push_back({uint32_t(p.pid), p.comm});
    if (scope_.cgroup) {
        r.scope.cgroup = scope_.cgroup->path;
        r.scope.cgroup_id = scope_.cgroup->id;
    }
    for (const NetnsTarget& n : scope_.netns)
        r.scope.netns.push_back({n.path, n.inode});
    r.scope.description = scope_.describe();
    r.started_at = started_at_;
    r.ended_at = utc_now_iso8601();
    r.duration_seconds = std::chrono::duration<double>(clock::now() - start_).count();
    r.end = end;
    r.end_detail = end_detail_;
    r.exit_status = exit_status_;
    r.processes = ledger_.processes;
    r.totals = ledger_.totals;
    r.untracked = table_->untracked();
    r.reaped_sockets = table_->reaped();
    write_file_atomically(o_.output, to_json(r).dump(2) + "\n");
}

// On stderr: COMMAND may be writing its own output on stdout.
void Session::print_summary() const {
    std::ostringstream out;
    for (const ProcessLedger& p : ledger_.processes) {
        out << (p.pid ? std::to_string(p.pid) : std::string("?")) << " " << p.comm << ":\n";
        for (const ConnectionLedger& c : p.connections)
            out << "  " << to_string(c.protocol) << " " << c.local.address << ":" << c.local.port
                << " -> " << c.remote.address << ":" << c.remote.port << ": " << c.verdict << "\n";
    }
    if (ledger_.processes.empty()) out << "no connection in scope sent or received anything\n";
    out << "report: " << o_.output << " (" << end_detail_ << ")\n";
    std::cerr << out.str();
}

} // namespace

int run_trace(const TraceOptions& o) {
    check_privileges();
    TraceScope scope = resolve_scope(o.request);
    parse_hook_mode(o.hooks);
    check_output_path(o.output);
    Session session(o, std::move(scope));
    session.start_metrics();
    session.watch_processes();
    session.load();
    return session.run();
}

} // namespace copyscope
