#include "tracer/bpf_tracer.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <deque>
#include <mutex>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/errors.h"
#include "copyscope_bpf.skel.h"
#include "copyscope_shared.h"

namespace copyscope {
namespace {

std::mutex g_log_mutex;
std::deque<std::string> g_log; // libbpf's last warnings

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
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

bpf_program* prog_of(copyscope_bpf* s, Prog p) {
    switch (p) {
    case Prog::send_fexit:
        return s->progs.cs_send_fexit;
    case Prog::send_tp_msg:
        return s->progs.cs_send_tp_msg;
    case Prog::send_tp_ret:
        return s->progs.cs_send_tp_ret;
    case Prog::xmit:
        return s->progs.cs_xmit;
    case Prog::rx:
        return s->progs.cs_rx;
    case Prog::deferred_fexit:
        return s->progs.cs_deferred_fexit;
    case Prog::recv:
        return s->progs.cs_recv;
    case Prog::retrans:
        return s->progs.cs_retrans;
    case Prog::zc_complete:
        return s->progs.cs_zc_complete;
    }
    return nullptr;
}

bpf_link** link_of(copyscope_bpf* s, Prog p) {
    switch (p) {
    case Prog::send_fexit:
        return &s->links.cs_send_fexit;
    case Prog::send_tp_msg:
        return &s->links.cs_send_tp_msg;
    case Prog::send_tp_ret:
        return &s->links.cs_send_tp_ret;
    case Prog::xmit:
        return &s->links.cs_xmit;
    case Prog::rx:
        return &s->links.cs_rx;
    case Prog::deferred_fexit:
        return &s->links.cs_deferred_fexit;
    case Prog::recv:
        return &s->links.cs_recv;
    case Prog::retrans:
        return &s->links.cs_retrans;
    case Prog::zc_complete:
        return &s->links.cs_zc_complete;
    }
    return nullptr;
}

constexpr Prog all_progs[] = {Prog::send_fexit, Prog::send_tp_msg, Prog::send_tp_ret,
                              Prog::xmit,       Prog::rx,          Prog::deferred_fexit,
                              Prog::recv,       Prog::retrans,     Prog::zc_complete};

KernelCounts to_counts(const cs_counters& c) {
    KernelCounts k;
    k.send_calls = c.v[CS_SEND_CALLS];
    k.send_bytes = c.v[CS_SEND_BYTES];
    k.send_copy_bytes = c.v[CS_SEND_COPY_BYTES];
    k.zc_send_calls = c.v[CS_ZC_SEND_CALLS];
    k.zc_pinned_bytes = c.v[CS_ZC_PINNED_BYTES];
    k.zc_fallback_bytes = c.v[CS_ZC_FALLBACK_BYTES];
    k.send_unclassified_bytes = c.v[CS_SEND_UNCLASSIFIED_BYTES];
    k.xmit_zc_skbs = c.v[CS_XMIT_ZC_SKBS];
    k.xmit_zc_bytes = c.v[CS_XMIT_ZC_BYTES];
    k.xmit_zc_pages = c.v[CS_XMIT_ZC_PAGES];
    k.fwd_zc_bytes = c.v[CS_FWD_ZC_BYTES];
    k.rx_zc_skbs = c.v[CS_RX_ZC_SKBS];
    k.rx_zc_bytes = c.v[CS_RX_ZC_BYTES];
    k.deferred_calls = c.v[CS_DEFERRED_CALLS];
    k.deferred_bytes = c.v[CS_DEFERRED_BYTES];
    k.recv_calls = c.v[CS_RECV_CALLS];
    k.recv_bytes = c.v[CS_RECV_BYTES];
    k.retrans_segs = c.v[CS_RETRANS_SEGS];
    k.retrans_bytes = c.v[CS_RETRANS_BYTES];
    k.zc_completed_sends = c.v[CS_ZC_COMPLETED_SENDS];
    k.zc_completed_copied = c.v[CS_ZC_COMPLETED_COPIED];
    return k;
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

BpfTracer::BpfTracer(const HookPlan& plan) : plan_(plan) {
    install_print_once();
    {
        std::lock_guard lock(g_log_mutex);
        g_log.clear();
    }
    skel_ = copyscope_bpf__open();
    if (!skel_) throw RunError(fail("opening the BPF object", errno));
    try {
        for (Prog p : all_progs) {
            bool wanted = std::find(plan_.progs.begin(), plan_.progs.end(), p) != plan_.progs.end();
            bpf_program__set_autoload(prog_of(skel_, p), wanted);
        }
        if (!plan_.zc_complete_target.empty() &&
            std::find(plan_.progs.begin(), plan_.progs.end(), Prog::zc_complete) !=
                plan_.progs.end()) {
            int err = bpf_program__set_attach_target(prog_of(skel_, Prog::zc_complete), 0,
                                                     plan_.zc_complete_target.c_str());
            if (err) throw RunError(fail("retargeting the completion hook", -err));
        }
        int err = copyscope_bpf__load(skel_);
        if (err) throw RunError(fail("loading the BPF programs", -err));
        for (Prog p : plan_.progs) {
            bpf_program* prog = prog_of(skel_, p);
            bpf_link* link = bpf_program__attach(prog);
            if (!link)
                throw RunError(fail(std::string("attaching ") + bpf_program__name(prog), errno));
            *link_of(skel_, p) = link; // destroyed with the skeleton
        }
    } catch (...) {
        copyscope_bpf__destroy(skel_);
        skel_ = nullptr;
        throw;
    }
}

BpfTracer::~BpfTracer() {
    if (skel_) copyscope_bpf__destroy(skel_); // detaches every link, closes every fd
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
    watched_.clear();
    peer_slot_.reset();
    std::vector<cs_counters> zero(possible_cpus());
    std::memset(zero.data(), 0, zero.size() * sizeof(cs_counters));
    for (__u32 slot = 0; slot < CS_MAX_NAMESPACES; ++slot)
        if (bpf_map_update_elem(counters, &slot, zero.data(), BPF_ANY))
            throw RunError(fail("tracer: zeroing counters", errno));
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

KernelCounts BpfTracer::read_peer_bound() const {
    if (!peer_slot_) throw RunError("tracer: no peer filter is set");
    return read_slot(*peer_slot_);
}

KernelCounts BpfTracer::read_slot(uint32_t slot) const {
    __u32 key = slot;
    std::vector<cs_counters> per_cpu(possible_cpus());
    if (bpf_map_lookup_elem(bpf_map__fd(skel_->maps.cs_counters), &key, per_cpu.data()))
        throw RunError(fail("tracer: reading counters", errno));
    cs_counters sum{};
    for (const auto& c : per_cpu)
        for (int i = 0; i < CS_NR_COUNTERS; ++i)
            sum.v[i] += c.v[i];
    return to_counts(sum);
}

uint64_t BpfTracer::total_recursion_misses() const {
    uint64_t total = 0;
    for (Prog p : plan_.progs) {
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog_of(skel_, p)), &info, &len) == 0)
            total += info.recursion_misses;
    }
    return total;
}

uint64_t BpfTracer::missed_events() const {
    return total_recursion_misses() - misses_at_watch_;
}

std::vector<uint32_t> BpfTracer::program_ids() const {
    std::vector<uint32_t> ids;
    for (Prog p : plan_.progs) {
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(bpf_program__fd(prog_of(skel_, p)), &info, &len) == 0)
            ids.push_back(info.id);
    }
    return ids;
}

} // namespace copyscope
