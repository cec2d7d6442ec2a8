#include "tracer/bpf_tracer.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>

#include <fcntl.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "copyscope_bpf.skel.h"
#include "workload/cgroup.h"

namespace copyscope {
namespace {

std::mutex g_log_mutex;
std::deque<std::string> g_log; // libbpf's last warnings

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
    // COPYSCOPE_BPF_LOG=1: every libbpf message whole on stderr (verifier logs are long).
    static const bool all = std::getenv("COPYSCOPE_BPF_LOG") != nullptr;
    if (all) {
        va_list copy;
        va_copy(copy, args);
        std::vfprintf(stderr, format, copy);
        va_end(copy);
    }
    if (level == LIBBPF_DEBUG) return 0;
    char buf[1024];
    int n = std::vsnprintf(buf, sizeof buf, format, args);
    std::string line(buf);
    while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
        line.pop_back();
    std::lock_guard lock(g_log_mutex);
    g_log.push_back(line);
    while (g_log.size() > 8)
        g_log.pop_front();
    return n;
}

void install_print_once() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(libbpf_print); });
}

std::string fail(const std::string& what, int err) {
    std::string msg = what + ": " + std::strerror(err);
    std::string log = libbpf_last_messages();
    if (!log.empty()) msg += " (libbpf: " + log + ")";
    return msg;
}

int possible_cpus() {
    int n = libbpf_num_possible_cpus();
    if (n <= 0) throw RunError(fail("libbpf_num_possible_cpus", -n));
    return n;
}

} // namespace

std::string libbpf_last_messages() {
    std::lock_guard lock(g_log_mutex);
    std::string out;
    for (const auto& l : g_log) {
        if (l.empty()) continue;
        out += (out.empty() ? "" : " | ") + l;
    }
    return out;
}

BpfTracer::BpfTracer(const HookPlan& plan, const std::optional<TraceTables>& trace) : plan_(plan) {
    install_print_once();
    {
        std::lock_guard lock(g_log_mutex);
        g_log.clear();
    }
    skel_ = copyscope_bpf__open();
    if (!skel_) throw RunError(fail("opening the BPF object", errno));
    try {
        choose_programs();
        skel_->rodata->cs_both_forms = plan_.send_forms_apart;
        if (trace) configure_trace(*trace);
        int err = copyscope_bpf__load(skel_);
        if (err) throw RunError(fail("loading the BPF programs", -err));
        // Attaches every loaded program; the links are destroyed with the skeleton.
        err = copyscope_bpf__attach(skel_);
        if (err) throw RunError(fail("attaching the BPF programs", -err));
        attach_cgroup_programs();
    } catch (...) {
        copyscope_bpf__destroy(skel_);
        skel_ = nullptr;
        throw;
    }
}

// Autoloads exactly the plan's programs, retargeted where the kernel names the function
// differently from the program's SEC.
void BpfTracer::choose_programs() {
    const auto planned = [&](const char* name) {
        return std::find(plan_.programs.begin(), plan_.programs.end(), name) !=
               plan_.programs.end();
    };
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel_->obj) {
        bpf_program__set_autoload(prog, planned(bpf_program__name(prog)));
    }
    for (const std::string& name : plan_.programs)
        if (!bpf_object__find_program_by_name(skel_->obj, name.c_str()))
            throw RunError("BPF program " + name + " is not in the BPF object");
    for (const auto& [name, target] : plan_.attach_targets) {
        prog = bpf_object__find_program_by_name(skel_->obj, name.c_str());
        if (!prog || !planned(name.c_str())) continue;
        int err = bpf_program__set_attach_target(prog, 0, target.c_str());
        if (err) throw RunError(fail("retargeting " + name + " to " + target, -err));
    }
}

// Read-only data and map sizes, before load: `run` keeps the per-socket table at one entry.
void BpfTracer::configure_trace(const TraceTables& t) {
    skel_->rodata->cs_tracing = true;
    skel_->rodata->cs_scope_flags = t.scope_flags;
    skel_->rodata->cs_scope_cgroup = t.cgroup_id;
    skel_->rodata->cs_scope_cgroup_level = t.cgroup_level;
    sockopt_cgroup_dir_ = t.sockopt_cgroup_dir;
    int err = bpf_map__set_max_entries(skel_->maps.cs_trace_socks, t.max_entries);
    if (err) throw RunError(fail("sizing the per-socket table", -err));
}

int BpfTracer::map_fd(const char* name) const {
    bpf_map* map = bpf_object__find_map_by_name(skel_->obj, name);
    if (!map) throw RunError(std::string("BPF map ") + name + " is not in the BPF object");
    return bpf_map__fd(map);
}

BpfTracer::~BpfTracer() {
    if (cgroup_link_) bpf_link__destroy(cgroup_link_);
    if (skel_) copyscope_bpf__destroy(skel_); // detaches every link, closes every fd
}

void BpfTracer::attach_cgroup_programs() {
    const char* name = "cs_zcrx_getsockopt";
    auto use = std::find_if(plan_.uses.begin(), plan_.uses.end(),
                            [](const HookUse& u) { return u.hook == hook_receive_mapped; });
    if (use == plan_.uses.end() || !use->form) return;
    std::string why;
    try {
        std::string where = sockopt_cgroup_dir_;
        if (where.empty()) {
            auto cg = cgroup_of_process(::getpid(), find_cgroup2_mount());
            if (!cg) throw RunError("copyscope's own cgroup v2 is not found");
            where = cg->dir;
        }
        UniqueFd dir(::open(where.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) throw RunError(errno_message("open " + where, errno));
        bpf_program* prog = bpf_object__find_program_by_name(skel_->obj, name);
        cgroup_link_ = prog ? bpf_program__attach_cgroup(prog, dir.get()) : nullptr;
        if (!cgroup_link_)
            throw RunError(fail("attaching " + std::string(name) + " to " + where, errno));
        use->form->targets = {"cgroup/getsockopt on " + where};
    } catch (const std::exception& e) {
        cgroup_link_ = nullptr;
        use->form = Unsupported{e.what()};
    }
}

void BpfTracer::watch_netns_cookie(uint64_t inode, uint64_t cookie) {
    auto it = std::find(watched_.begin(), watched_.end(), inode);
    if (it == watched_.end())
        throw RunError("tracer: namespace " + std::to_string(inode) + " is not watched");
    const __u32 slot = static_cast<__u32>(it - watched_.begin());
    const __u64 key = cookie;
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.cs_netns_cookie), &key, &slot, BPF_ANY))
        throw RunError(fail("tracer: netns cookie map", errno));
}

void BpfTracer::watch(const std::vector<uint64_t>& inodes, const std::optional<PeerFilter>& peer) {
    const size_t slots_needed = inodes.size() + (peer ? 1 : 0);
    if (slots_needed > CS_MAX_NAMESPACES)
        throw RunError("tracer: " + std::to_string(slots_needed) +
                       " counter slots to watch; at most " + std::to_string(CS_MAX_NAMESPACES));
    const int filter = bpf_map__fd(skel_->maps.cs_ns_filter);
    const int counters = bpf_map__fd(skel_->maps.cs_counters);

    // Stop counting the old namespaces first, then zero every slot, then let the new in.
    for (uint64_t old : watched_) {
        __u32 key = static_cast<__u32>(old);
        bpf_map_delete_elem(filter, &key);
    }
    {
        // The old namespaces' cookies go too.
        const int cookies = bpf_map__fd(skel_->maps.cs_netns_cookie);
        __u64 key = 0, next = 0;
        while (bpf_map_get_next_key(cookies, nullptr, &next) == 0) {
            key = next;
            if (bpf_map_delete_elem(cookies, &key)) break;
        }
    }
    watched_.clear();
    peer_slot_.reset();
    std::vector<cs_counters> zero(possible_cpus());
    std::memset(zero.data(), 0, zero.size() * sizeof(cs_counters));
    for (int map : {counters, bpf_map__fd(skel_->maps.cs_counters_tp)})
        for (__u32 slot = 0; slot < CS_MAX_NAMESPACES; ++slot)
            if (bpf_map_update_elem(map, &slot, zero.data(), BPF_ANY))
                throw RunError(fail("tracer: zeroing counters", errno));
    clear_arrivals();
    misses_at_watch_ = total_recursion_misses();
    std::vector<uint64_t> unique;
    for (uint64_t inode : inodes)
        if (std::find(unique.begin(), unique.end(), inode) == unique.end()) unique.push_back(inode);
    const __u32 peer_slot = static_cast<__u32>(unique.size()); // after every namespace's own
    for (size_t i = 0; i < unique.size(); ++i) {
        cs_ns_entry entry{};
        entry.slot = static_cast<__u32>(i);
        if (peer && peer->namespace_inode == unique[i]) {
            entry.peer_slot = peer_slot;
            entry.peer_addr = peer->addr;
            entry.peer_port = peer->port;
            peer_slot_ = peer_slot;
        }
        __u32 key = static_cast<__u32>(unique[i]); // net->ns.inum is 32 bits
        if (bpf_map_update_elem(filter, &key, &entry, BPF_ANY))
            throw RunError(fail("tracer: namespace filter", errno));
        watched_.push_back(unique[i]);
    }
    if (peer && !peer_slot_)
        throw RunError("tracer: peer filter for namespace " +
                       std::to_string(peer->namespace_inode) + ", which is not watched");
}

KernelCounts BpfTracer::read(uint64_t inode) const {
    auto it = std::find(watched_.begin(), watched_.end(), inode);
    if (it == watched_.end())
        throw RunError("tracer: namespace " + std::to_string(inode) + " is not watched");
    return read_slot(static_cast<uint32_t>(it - watched_.begin()));
}

KernelCounts BpfTracer::read_peer_bound(bool tracepoint_send) const {
    if (!peer_slot_) throw RunError("tracer: no peer filter is set");
    return read_slot(*peer_slot_, tracepoint_send && plan_.send_forms_apart);
}

// Zerocopy skbs recorded on arrival and not yet seen by TCP or a drop: a later cell must
// not take a reused skb address for one of them.
void BpfTracer::clear_arrivals() {
    const int fd = bpf_map__fd(skel_->maps.cs_arrivals);
    __u64 key = 0, next = 0;
    std::vector<__u64> keys;
    const __u64* prev = nullptr;
    while (bpf_map_get_next_key(fd, prev, &next) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
    }
    for (__u64 k : keys)
        bpf_map_delete_elem(fd, &k);
}

KernelCounts BpfTracer::read_tracepoint_send(uint64_t inode) const {
    if (!plan_.send_forms_apart) return read(inode);
    auto it = std::find(watched_.begin(), watched_.end(), inode);
    if (it == watched_.end())
        throw RunError("tracer: namespace " + std::to_string(inode) + " is not watched");
    return read_slot(static_cast<uint32_t>(it - watched_.begin()), true);
}

KernelCounts BpfTracer::read_slot(uint32_t slot, bool tracepoint_send) const {
    __u32 key = slot;
    std::vector<cs_counters> per_cpu(possible_cpus());
    const bpf_map* map = tracepoint_send ? skel_->maps.cs_counters_tp : skel_->maps.cs_counters;
    if (bpf_map_lookup_elem(bpf_map__fd(map), &key, per_cpu.data()))
        throw RunError(fail("tracer: reading counters", errno));
    KernelCounts sum;
    for (const cs_counters& c : per_cpu)
        sum += to_kernel_counts(c);
    return sum;
}

namespace {

// Calls f(info) for every loaded program.
template <class F> void for_each_loaded(copyscope_bpf* skel, F f) {
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) {
        if (!bpf_program__autoload(prog)) continue;
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) == 0) f(info);
    }
}

} // namespace

uint64_t BpfTracer::total_recursion_misses() const {
    uint64_t total = 0;
    for_each_loaded(skel_, [&](const bpf_prog_info& info) { total += info.recursion_misses; });
    return total;
}

uint64_t BpfTracer::missed_events() const {
    return total_recursion_misses() - misses_at_watch_;
}

std::vector<ProgramCost> BpfTracer::program_costs() const {
    std::vector<ProgramCost> out;
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel_->obj) {
        if (!bpf_program__autoload(prog)) continue;
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
            throw RunError(fail(
                std::string("tracer: run-time statistics of ") + bpf_program__name(prog), errno));
        out.push_back({bpf_program__name(prog), info.run_cnt, info.run_time_ns});
    }
    return out;
}

RunTimeStats::RunTimeStats() {
    const int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (fd >= 0)
        fd_.reset(fd);
    else
        why_not_ = std::string("BPF_ENABLE_STATS: ") + std::strerror(-fd);
}

std::vector<uint32_t> BpfTracer::program_ids() const {
    std::vector<uint32_t> ids;
    for_each_loaded(skel_, [&](const bpf_prog_info& info) { ids.push_back(info.id); });
    return ids;
}

std::vector<std::string> bpf_program_names() {
    copyscope_bpf* skel = copyscope_bpf__open();
    if (!skel) throw RunError(fail("opening the BPF object", errno));
    std::vector<std::string> names;
    bpf_program* prog;
    bpf_object__for_each_program(prog, skel->obj) {
        names.push_back(bpf_program__name(prog));
    }
    copyscope_bpf__destroy(skel);
    return names;
}

} // namespace copyscope
