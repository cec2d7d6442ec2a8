#include "trace/socket_table.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common/errors.h"
#include "sockets_shared.h"

namespace copyscope {
namespace {

uint64_t monotonic_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts); // bpf_ktime_get_ns's clock
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

Endpoint endpoint(uint16_t family, const uint8_t* addr, uint16_t port) {
    char text[INET6_ADDRSTRLEN] = "";
    const int af = family == AF_INET6 ? AF_INET6 : AF_INET;
    ::inet_ntop(af, addr, text, sizeof text);
    return {text, port};
}

// The identity of an entry from its CPUs' copies: the one that created it has the addresses,
// the first that saw it in process context the process; a close seen on any CPU counts.
void merge_identity(SocketRecord& r, const cs_sock_info& i, bool& have) {
    const bool better = i.family != 0 && (!have || (r.local.port == 0 && i.local_port != 0) ||
                                          (r.remote.port == 0 && i.remote_port != 0));
    if (better) {
        have = true;
        r.protocol = i.protocol == IPPROTO_UDP ? TraceProtocol::udp : TraceProtocol::tcp;
        r.local = endpoint(i.family, i.local_addr, i.local_port);
        r.remote = endpoint(i.family, i.remote_addr, i.remote_port);
        r.netns = i.netns;
        r.cgroup_id = i.cgroup_id;
    }
    if (r.tgid == 0 && i.tgid != 0) {
        r.tgid = i.tgid;
        r.comm.assign(i.comm, strnlen(i.comm, sizeof i.comm));
    }
    if (i.flags & CS_SOCK_CLOSED) {
        r.closed = true;
        r.closed_ns = std::max<uint64_t>(r.closed_ns, i.closed_ns);
    }
}

SocketId id_of(const cs_sock_key& k) {
    return {k.cookie};
}

} // namespace

SocketTable::SocketTable(const BpfTracer& bpf, uint32_t capacity)
    : socks_fd_(bpf.map_fd("cs_trace_socks")), other_fd_(bpf.map_fd("cs_trace_other")),
      stats_fd_(bpf.map_fd("cs_trace_stats")), capacity_(capacity),
      cpus_(libbpf_num_possible_cpus()) {
    if (cpus_ <= 0) throw RunError("libbpf_num_possible_cpus: " + std::string(strerror(-cpus_)));
    untracked_.table_capacity = capacity;
}

void SocketTable::refresh(std::chrono::nanoseconds reap_after) {
    std::vector<cs_sock_key> keys;
    cs_sock_key key{}, next{};
    const cs_sock_key* prev = nullptr;
    // Bounded: entries created while walking may be met, never more than the table holds.
    while (keys.size() < size_t(capacity_) * 2 &&
           bpf_map_get_next_key(socks_fd_, prev, &next) == 0) {
        keys.push_back(next);
        key = next;
        prev = &key;
    }
    for (auto& [id, h] : held_)
        h.current.clear();
    std::vector<cs_sock_value> values(cpus_);
    std::vector<cs_sock_key> own_keys;
    for (const cs_sock_key& k : keys) {
        if (bpf_map_lookup_elem(socks_fd_, &k, values.data())) continue; // reaped meanwhile
        Held& h = held_[id_of(k)];
        h.record.id = id_of(k);
        bool have = !h.record.local.address.empty();
        KernelCounts sum;
        for (const cs_sock_value& v : values) {
            merge_identity(h.record, v.info, have);
            sum += to_kernel_counts(v.c);
        }
        h.current[k.netns] = sum;
        if (k.netns == h.record.netns) own_keys.push_back(k);
    }
    entries_ = keys.size();
    // Reap only when needed: a reaped socket of a --pid scope is not let back in.
    if (keys.size() * 2 > capacity_) {
        const uint64_t now = monotonic_ns();
        for (const cs_sock_key& k : own_keys) {
            Held& h = held_[id_of(k)];
            if (!h.record.closed || h.record.closed_ns + uint64_t(reap_after.count()) > now)
                continue;
            for (const cs_sock_key& any : keys) {
                if (id_of(any) != id_of(k)) continue;
                if (bpf_map_lookup_and_delete_elem(socks_fd_, &any, values.data())) continue;
                KernelCounts sum;
                for (const cs_sock_value& v : values)
                    sum += to_kernel_counts(v.c);
                h.reaped[any.netns] += sum;
                h.current.erase(any.netns);
                --entries_;
            }
            ++reaped_;
        }
    }
    read_other();
}

void SocketTable::read_other() {
    __u32 zero = 0;
    std::vector<cs_counters> other(cpus_);
    if (bpf_map_lookup_elem(other_fd_, &zero, other.data()) == 0) {
        KernelCounts sum;
        for (const cs_counters& c : other)
            sum += to_kernel_counts(c);
        untracked_.counts = sum;
    }
    std::vector<cs_trace_stats> stats(cpus_);
    if (bpf_map_lookup_elem(stats_fd_, &zero, stats.data()) == 0) {
        untracked_.table_full_events = untracked_.sockets_seen = 0;
        untracked_.errqueue_messages_skipped = 0;
        for (const cs_trace_stats& s : stats) {
            untracked_.table_full_events += s.table_full_events;
            untracked_.sockets_seen += s.sockets_seen;
            untracked_.errqueue_messages_skipped += s.errqueue_msgs_skipped;
        }
    }
}

std::vector<SocketRecord> SocketTable::records() const {
    std::vector<SocketRecord> out;
    for (const auto& [id, h] : held_) {
        SocketRecord r = h.record;
        r.own = KernelCounts{};
        r.elsewhere.clear();
        for (const auto* counts : {&h.reaped, &h.current})
            for (const auto& [netns, k] : *counts) {
                if (netns == r.netns)
                    r.own += k;
                else
                    r.elsewhere[netns] += k;
            }
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace copyscope
