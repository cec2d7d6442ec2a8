#pragma once
// The per-socket table of `copyscope trace` (bpf/sockets.bpf.h) as userspace keeps it: every
// entry summed over CPUs, its identity merged from the CPUs that saw it, grouped into
// connections, and the counts of what did not fit. Entries of sockets closed a while ago are
// taken out of the kernel's table when it fills (atomically, with their last counts) and kept
// here, so a long trace of a busy server stays within the table's bounds.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "model/kernel_counts.h"
#include "model/trace.h"
#include "tracer/bpf_tracer.h"

namespace copyscope {

// A socket (the table's key without the namespace of its counts): its cookie, unique for
// the life of the machine.
struct SocketId {
    uint64_t cookie = 0;
    auto operator<=>(const SocketId&) const = default;
};

struct SocketRecord {
    SocketId id;
    TraceProtocol protocol = TraceProtocol::tcp;
    Endpoint local, remote;
    uint64_t netns = 0; // its own namespace
    uint64_t cgroup_id = 0;
    uint32_t tgid = 0; // 0: never seen in process context
    std::string comm;
    bool closed = false;
    uint64_t closed_ns = 0; // CLOCK_MONOTONIC
    KernelCounts own;
    std::map<uint64_t, KernelCounts> elsewhere; // namespace -> counts there
};

class SocketTable {
  public:
    // The tracer must have been loaded with TraceTables; `capacity` is the table's size.
    SocketTable(const BpfTracer& bpf, uint32_t capacity);

    // Reads every entry. When more than half the table is taken, entries of sockets closed at
    // least `reap_after` ago leave the kernel's table; their counts stay here.
    void refresh(std::chrono::nanoseconds reap_after);

    // Every socket seen so far, reaped ones included.
    std::vector<SocketRecord> records() const;
    Untracked untracked() const { return untracked_; }
    uint64_t reaped() const { return reaped_; }
    size_t entries() const { return entries_; } // in the kernel's table at the last refresh
    uint32_t capacity() const { return capacity_; }

  private:
    struct Held {
        SocketRecord record;                      // identity and current counts
        std::map<uint64_t, KernelCounts> reaped;  // namespace -> counts of reaped entries
        std::map<uint64_t, KernelCounts> current; // namespace -> counts in the table now
    };
    void read_other();

    int socks_fd_, other_fd_, stats_fd_;
    uint32_t capacity_;
    int cpus_;
    std::map<SocketId, Held> held_;
    Untracked untracked_;
    uint64_t reaped_ = 0;
    size_t entries_ = 0;
};

} // namespace copyscope
