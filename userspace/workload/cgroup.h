#pragma once
// cgroup v2 as copyscope uses it: where the hierarchy is mounted, which directory a user
// means, and its id. The id of a cgroup is its kernfs node id (kn->id): the number
// bpf_get_current_cgroup_id() returns and sk->sk_cgrp_data.cgroup->kn->id holds, and on
// 64-bit kernels the st_ino of its directory.
//
// Never assume /sys/fs/cgroup: a hybrid host (systemd's "unified" layout) mounts cgroup v1
// controllers there and v2 at /sys/fs/cgroup/unified; a pure v2 host mounts v2 there.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace copyscope {

struct Cgroup2Mount {
    std::string mount_point; // e.g. /sys/fs/cgroup/unified
    // The mount's root inside the hierarchy as this process's cgroup namespace sees it:
    // "/" unless only a subtree was mounted.
    std::string root = "/";
};

// The cgroup2 mount in the text of /proc/self/mountinfo: the first one whose root is "/",
// else the first one; nullopt when cgroup v2 is not mounted.
std::optional<Cgroup2Mount> parse_cgroup2_mount(std::string_view mountinfo);

// The same from /proc/self/mountinfo; UsageError when cgroup v2 is not mounted.
Cgroup2Mount find_cgroup2_mount();

// The v2 line ("0::/PATH") of the text of /proc/PID/cgroup: PATH, relative to the cgroup
// namespace of the reader; nullopt when there is none (a process on a v1-only host).
std::optional<std::string> parse_cgroup2_path(std::string_view proc_pid_cgroup);

struct Cgroup {
    std::string dir;  // its directory, e.g. /sys/fs/cgroup/unified/system.slice/foo.service
    std::string path; // as /proc/PID/cgroup shows it: "/system.slice/foo.service", "/" the root
    uint64_t id = 0;  // kernfs node id (st_ino of dir)
    // Components below the root of this cgroup namespace. The kernel's cgroup->level when
    // copyscope runs in the initial cgroup namespace (in a container it is larger).
    int depth = 0;
};

// The directory of a cgroup given as /proc/PID/cgroup shows it; nullopt when it lies
// outside the mount (a path with "/.." from another cgroup namespace, or beside a mounted
// subtree) or no longer exists.
std::optional<Cgroup> cgroup_at(const std::string& path, const Cgroup2Mount& mount);

// A cgroup named by a user (--cgroup): an absolute directory inside the v2 mount
// (/sys/fs/cgroup/unified/system.slice/foo.service), a path relative to the mount
// (system.slice/foo.service) or as /proc/PID/cgroup shows it (/system.slice/foo.service).
// UsageError, one line, for anything else: no such cgroup, a cgroup v1 directory (told
// apart by the statfs magic: v1 sockets carry no v2 cgroup to match), not a cgroup.
Cgroup resolve_cgroup(const std::string& user_path, const Cgroup2Mount& mount);

// The cgroup v2 of a process from /proc/PID/cgroup; nullopt when it has no v2 line or its
// cgroup is outside the mount.
std::optional<Cgroup> cgroup_of_process(pid_t pid, const Cgroup2Mount& mount);

} // namespace copyscope
