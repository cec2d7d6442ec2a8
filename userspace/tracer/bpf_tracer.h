#pragma once
// RAII owner of the loaded BPF object (the bpftool skeleton): open, autoload the programs
// of the chosen hook forms (by name), load, and let the skeleton attach what is loaded. Links and
// maps are held by file descriptors only, never pinned, so destroying the object (or the process
// dying) unloads everything.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "model/kernel_counts.h"
#include "model/tracer_cost.h"
#include "tracer/hooks.h"

struct copyscope_bpf; // the generated skeleton
struct bpf_link;

namespace copyscope {

// `copyscope trace`: the programs count per socket in scope (bpf/sockets.bpf.h) instead of
// per watched namespace. Fixed before load: the scope's kind and cgroup, the table's size.
struct TraceTables {
    uint32_t scope_flags = 0; // CS_SCOPE_* (bpf/sockets_shared.h)
    uint64_t cgroup_id = 0;   // with CS_SCOPE_CGROUP: kn->id of the scope's cgroup
    uint32_t cgroup_level = 0;
    uint32_t max_entries = 0; // of the per-socket table
    // The cgroup v2 directory the getsockopt program (TCP_ZEROCOPY_RECEIVE) attaches to; empty:
    // copyscope's own, as `run` does.
    std::string sockopt_cgroup_dir;
};

class BpfTracer {
  public:
    // Loads and attaches the programs of `plan`. Throws RunError with libbpf's reason.
    explicit BpfTracer(const HookPlan& plan, const std::optional<TraceTables>& trace = {});
    ~BpfTracer();
    BpfTracer(const BpfTracer&) = delete;
    BpfTracer& operator=(const BpfTracer&) = delete;

    // A namespace shared with the rest of the host (nic: copyscope's own): count only TCP
    // sockets connected to addr:port there, and apart from them those bound to it (a sink
    // running in the same namespace).
    struct PeerFilter {
        uint64_t namespace_inode = 0;
        uint32_t addr = 0; // IPv4, network byte order
        uint16_t port = 0; // host byte order
    };

    // Counts only these namespaces from now on, from zero. At most CS_MAX_NAMESPACES, one
    // fewer with a peer filter (its bound sockets take a slot of their own).
    void watch(const std::vector<uint64_t>& namespace_inodes,
               const std::optional<PeerFilter>& peer = std::nullopt);
    // Where a watched namespace's TCP_ZEROCOPY_RECEIVE calls count: its netns cookie (the
    // cgroup getsockopt program knows a socket's namespace only by that).
    void watch_netns_cookie(uint64_t namespace_inode, uint64_t cookie);
    // Counts of one watched namespace so far, summed over CPUs.
    KernelCounts read(uint64_t namespace_inode) const;
    // With a peer filter: the counts of the sockets bound to the peer's address (with
    // tracepoint_send, what the send hook's tracepoint form counted there, as below).
    KernelCounts read_peer_bound(bool tracepoint_send = false) const;
    // Where the send hook's forms count apart (plan().send_forms_apart): what its tracepoint
    // form counted in a watched namespace (the send counters only; the rest stays 0).
    // Otherwise read(inode).
    KernelCounts read_tracepoint_send(uint64_t namespace_inode) const;
    // Program runs the kernel skipped (recursion protection) since watch().
    uint64_t missed_events() const;

    // Runs and run time of every loaded program so far, as the kernel keeps them (counted
    // only while its run-time statistics are on: see RunTimeStats).
    std::vector<ProgramCost> program_costs() const;

    const HookPlan& plan() const { return plan_; }
    // The fd of one of the object's maps, by its name in bpf/ (readers beside the tracer:
    // the per-socket table of trace). RunError when there is none.
    int map_fd(const char* name) const;
    // Ids of the loaded programs (for tests that check nothing is left behind).
    std::vector<uint32_t> program_ids() const;

  private:
    void choose_programs();
    void configure_trace(const TraceTables& trace);
    void clear_arrivals();
    // Attaches the cgroup getsockopt program, when planned, to copyscope's own cgroup v2; a
    // failure makes its hook unsupported, with the reason, rather than the tracer.
    void attach_cgroup_programs();
    uint64_t total_recursion_misses() const;

    HookPlan plan_;
    copyscope_bpf* skel_ = nullptr;
    KernelCounts read_slot(uint32_t slot, bool tracepoint_send = false) const;

    std::vector<uint64_t> watched_;
    std::optional<uint32_t> peer_slot_;
    uint64_t misses_at_watch_ = 0;
    bpf_link* cgroup_link_ = nullptr;
    std::string sockopt_cgroup_dir_;
};

// The kernel's BPF run-time statistics (BPF_ENABLE_STATS, BPF_STATS_RUN_TIME), on while this
// object lives: the kernel keeps them on for as long as the fd is open, so closing it (or the
// process ending) turns them off again unless someone else holds them on too. While on, every
// BPF program run on the machine pays two clock reads.
class RunTimeStats {
  public:
    RunTimeStats(); // tries to turn them on; never throws
    bool enabled() const { return bool(fd_); }
    const std::string& why_not() const { return why_not_; } // when !enabled()

  private:
    UniqueFd fd_;
    std::string why_not_;
};

// libbpf's last warnings, for error messages (libbpf prints through a global callback).
std::string libbpf_last_messages();

// The names of the programs in the BPF object (opened, not loaded: no privilege needed).
std::vector<std::string> bpf_program_names();

} // namespace copyscope
