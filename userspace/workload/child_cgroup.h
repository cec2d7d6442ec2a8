#pragma once
// The cgroup of its own that `copyscope trace -- COMMAND` runs COMMAND in, so that the
// tracer can follow COMMAND and everything it starts by the cgroup of their sockets.
//
// Where: below copyscope's own cgroup v2 (default_trace_parent). COMMAND then keeps the
// limits and accounting it would have had as a plain child of copyscope (a shell's
// session, a container, a delegated systemd unit: the one subtree a process may extend),
// instead of escaping them at the hierarchy's root. On this kind of host copyscope often
// sits in the root cgroup itself, and the two choices are the same.
//
// Name: copyscope-trace-<pid of copyscope>[-N]. Removed on destruction: leftovers (a
// daemon COMMAND left behind) are killed with cgroup.kill, then the directory and any
// sub-cgroups COMMAND made are removed, with bounded retries. Only SIGKILL of copyscope
// can leave a directory behind; the next creation in the same parent removes every
// copyscope-trace-<pid> whose pid is gone and which is empty (a populated one still runs
// a COMMAND that outlived its copyscope: it is left alone).
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/unique_fd.h"
#include "workload/cgroup.h"

namespace copyscope {

// copyscope's own cgroup v2, or the mount's root when that is not visible through the
// mount.
Cgroup default_trace_parent(const Cgroup2Mount& mount);

// Removes empty copyscope-trace-<pid>[-N] directories below `parent_dir` whose process
// is gone; returns how many were removed.
int sweep_stale_trace_cgroups(const std::string& parent_dir);

class ChildCgroup {
  public:
    // Sweeps stale siblings, then creates a new cgroup below `parent`. RunError when the
    // kernel refuses (the message says why).
    explicit ChildCgroup(const Cgroup& parent);
    ~ChildCgroup(); // remove(); a failure is printed on stderr (a destructor cannot throw)
    ChildCgroup(ChildCgroup&& other) noexcept;
    ChildCgroup& operator=(ChildCgroup&&) = delete;
    ChildCgroup(const ChildCgroup&) = delete;
    ChildCgroup& operator=(const ChildCgroup&) = delete;

    const Cgroup& cgroup() const { return cgroup_; }
    // An O_RDONLY|O_DIRECTORY fd of the directory: clone3(CLONE_INTO_CGROUP) takes it.
    int dir_fd() const { return dir_fd_.get(); }

    // Processes in it and in its sub-cgroups now.
    std::vector<pid_t> processes() const;
    bool populated() const; // cgroup.events "populated 1"

    struct Removal {
        bool removed = false;
        std::vector<pid_t> killed; // processes still inside that were killed
        std::string error;         // why it could not be removed, when it could not
    };
    // Kills what is left inside, removes the directory. Idempotent: later calls return
    // {removed: true} with nothing killed.
    Removal remove();

  private:
    Cgroup cgroup_;
    UniqueFd dir_fd_;
    bool owned_ = false;
};

} // namespace copyscope
