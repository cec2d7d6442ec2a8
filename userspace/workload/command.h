#pragma once
// COMMAND [ARGS...] started in a cgroup of its own and waited for like `time` and
// `strace` do: its exit status is COMMAND's (exit code, or 128+N when killed by signal N).
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

#include "common/unique_fd.h"

namespace copyscope {

// The file execvp would run for `name`: `name` itself when it holds a '/', else the first
// executable regular file `dir/name` along `path_env` (PATH; an empty entry is the current
// directory; unset: /bin:/usr/bin, as glibc). UsageError "COMMAND not found: NAME" when
// there is none, "COMMAND is not executable: FILE" when the only match cannot be run.
std::string resolve_executable(const std::string& name, const char* path_env);

// Exit status of a waited-for child from waitid(): its exit code, or 128 + the signal
// that killed it.
int exit_status_of(const siginfo_t& info);

enum class SpawnMethod {
    automatic,         // clone3 with CLONE_INTO_CGROUP, the other one when the kernel lacks it
    clone_into_cgroup, // clone3(CLONE_INTO_CGROUP | CLONE_PIDFD), 5.7+: born in the cgroup
    fork_then_move,    // fork, the child writes itself to cgroup.procs, then exec
};

class ChildProcess {
  public:
    // Starts argv[0] (resolved through PATH first: not found is a UsageError before
    // anything starts) in the cgroup whose directory `cgroup_dir_fd` is open. The child
    // gets copyscope's environment, default signal dispositions and an empty signal
    // mask. UsageError when the exec itself fails (e.g. not an executable format);
    // RunError when the kernel refuses to create the process.
    static ChildProcess spawn(const std::vector<std::string>& argv, int cgroup_dir_fd,
                              SpawnMethod method = SpawnMethod::automatic);

    ChildProcess(ChildProcess&& other) noexcept;
    ChildProcess& operator=(ChildProcess&&) = delete;
    // Still running (an error unwound the caller): SIGKILL and reap, so that neither
    // the process nor a zombie outlives its handle.
    ~ChildProcess();

    pid_t pid() const { return pid_; }
    // A pidfd: readable (poll) once the child has exited; a signal through it never hits
    // a recycled pid.
    int pidfd() const { return pidfd_.get(); }
    SpawnMethod method() const { return method_; } // the one actually used

    std::optional<int> try_wait(); // exit status, nullopt while it runs
    int wait();                    // blocks until it exits
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    void signal(int sig); // nothing once it has been reaped

  private:
    ChildProcess(pid_t pid, UniqueFd pidfd, SpawnMethod method)
        : pid_(pid), pidfd_(std::move(pidfd)), method_(method) {}
    pid_t pid_ = -1;
    UniqueFd pidfd_;
    SpawnMethod method_;
    std::optional<int> status_;
};

} // namespace copyscope
