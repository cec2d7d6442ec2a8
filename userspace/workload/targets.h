#pragma once
// Existing workloads named by the user: --pid PID[,PID...] and --netns PATH.
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "workload/cgroup.h"

namespace copyscope {

// "123" or "123,456": UsageError for anything else (empty items, signs, not a number,
// beyond pid_max) and for duplicates.
std::vector<pid_t> parse_pid_list(const std::string& text);

struct ProcessTarget {
    pid_t pid = 0;
    std::string comm;
    // Its cgroup v2 (for scoping by the sockets' cgroup), nullopt when it has none visible
    // here: cgroup_path then says what /proc/PID/cgroup showed ("" with no v2 line).
    std::optional<Cgroup> cgroup;
    std::string cgroup_path;
    uint64_t netns_inode = 0; // net->ns.inum, from /proc/PID/ns/net
};

// UsageError, one line, when PID is no process (gone, a thread id rather than a process
// id, a zombie). `mount` may be absent on a host without cgroup v2.
ProcessTarget inspect_process(pid_t pid, const std::optional<Cgroup2Mount>& mount);

struct NetnsTarget {
    std::string path;
    uint64_t inode = 0; // net->ns.inum, what BPF programs compare
};

// A network namespace file: a bind mount under /run/netns (ip netns add NAME) or
// /proc/PID/ns/net. UsageError for a missing path, a file that is not a namespace (statfs
// magic is not NSFS_MAGIC) or a namespace of another kind.
NetnsTarget resolve_netns(const std::string& path);

} // namespace copyscope
