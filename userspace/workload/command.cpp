#include "workload/command.h"

#include <cerrno>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errors.h"

extern char** environ;

namespace copyscope {

namespace {

// 0 when `file` is an executable regular file, else the errno that says why not.
int executable_problem(const std::string& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return errno;
    if (!S_ISREG(st.st_mode)) return EACCES;
    if (::faccessat(AT_FDCWD, file.c_str(), X_OK, AT_EACCESS) != 0) return errno;
    return 0;
}

bool is_absent(int err) {
    return err == ENOENT || err == ENOTDIR;
}

// What a child reports through the close-on-exec pipe when it cannot become COMMAND.
struct ChildFailure {
    int stage; // 1: moving into the cgroup, 2: exec
    int err;
};

struct Prepared {
    std::string file;
    std::vector<std::string> args;
    std::vector<char*> argv;
};

// In the new process, before exec: only async-signal-safe calls (the parent may have
// threads). Handlers copyscope installed become default again, and SIGPIPE/SIGXFSZ are
// not inherited as ignored (a shell would not hand them over so either).
[[noreturn]] void become_command(const Prepared& p, int report_fd, int procs_fd) {
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction old {};
        if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &old) != 0) continue;
        bool caught =
            (old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
        if (caught || sig == SIGPIPE || sig == SIGXFSZ) {
            struct sigaction dfl {};
            dfl.sa_handler = SIG_DFL;
            ::sigaction(sig, &dfl, nullptr);
        }
    }
    ChildFailure failure{0, 0};
    if (procs_fd >= 0 && ::write(procs_fd, "0", 1) != 1) failure = {1, errno};
    if (failure.stage == 0) {
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        ::execve(p.file.c_str(), p.argv.data(), environ);
        failure = {2, errno};
    }
    [[maybe_unused]] auto n = ::write(report_fd, &failure, sizeof failure);
    ::_exit(127);
}

// clone3 into the cgroup; -1 with errno when the kernel cannot.
pid_t clone_into(const Prepared& p, int cgroup_dir_fd, int report_fd, int* pidfd) {
    struct clone_args args {};
    args.flags = CLONE_INTO_CGROUP | CLONE_PIDFD;
    args.pidfd = reinterpret_cast<__u64>(pidfd);
    args.exit_signal = SIGCHLD;
    args.cgroup = __u64(cgroup_dir_fd);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) become_command(p, report_fd, -1);
    return pid_t(pid);
}

pid_t fork_then_move(const Prepared& p, int cgroup_dir_fd, int report_fd, int* pidfd) {
    UniqueFd procs(::openat(cgroup_dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC));
    if (!procs) throw RunError(errno_message("cannot open cgroup.procs of the cgroup", errno));
    pid_t pid = ::fork();
    if (pid == 0) become_command(p, report_fd, procs.get());
    if (pid > 0) {
        *pidfd = int(::syscall(SYS_pidfd_open, pid, 0));
        if (*pidfd < 0) {
            int err = errno;
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            errno = err;
            return -1;
        }
    }
    return pid;
}

// clone3 is missing before 5.3, and CLONE_INTO_CGROUP (a larger clone_args) before 5.7.
bool kernel_lacks_clone_into_cgroup(int err) {
    return err == ENOSYS || err == E2BIG || err == EINVAL;
}

} // namespace

std::string resolve_executable(const std::string& name, const char* path_env) {
    if (name.empty()) throw UsageError("COMMAND not found: (an empty name)");
    if (name.find('/') != std::string::npos) {
        int err = executable_problem(name);
        if (err == 0) return name;
        if (is_absent(err)) throw UsageError("COMMAND not found: " + name);
        throw UsageError("COMMAND is not executable: " + name);
    }
    std::string path = path_env ? path_env : "/bin:/usr/bin";
    std::string not_executable;
    size_t start = 0;
    for (;;) {
        size_t end = path.find(':', start);
        std::string dir = path.substr(start, end == std::string::npos ? end : end - start);
        std::string file = (dir.empty() ? "." : dir) + "/" + name;
        int err = executable_problem(file);
        if (err == 0) return file;
        if (!is_absent(err) && not_executable.empty()) not_executable = file;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    if (!not_executable.empty()) throw UsageError("COMMAND is not executable: " + not_executable);
    throw UsageError("COMMAND not found: " + name);
}

int exit_status_of(const siginfo_t& info) {
    if (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED) return 128 + info.si_status;
    return info.si_status;
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv, int cgroup_dir_fd,
                                 SpawnMethod method) {
    if (argv.empty()) throw UsageError("COMMAND not found: (none given)");
    Prepared p{resolve_executable(argv[0], ::getenv("PATH")), argv, {}};
    for (auto& arg : p.args)
        p.argv.push_back(arg.data());
    p.argv.push_back(nullptr);

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw RunError(errno_message("pipe2", errno));
    UniqueFd report_read(pipe_fds[0]), report_write(pipe_fds[1]);

    // No handler may run in the child between clone and exec: block everything across it.
    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    int pidfd = -1;
    pid_t pid = -1;
    SpawnMethod used =
        method == SpawnMethod::fork_then_move ? method : SpawnMethod::clone_into_cgroup;
    if (used == SpawnMethod::clone_into_cgroup) {
        pid = clone_into(p, cgroup_dir_fd, report_write.get(), &pidfd);
        if (pid < 0 && method == SpawnMethod::automatic && kernel_lacks_clone_into_cgroup(errno))
            used = SpawnMethod::fork_then_move;
    }
    int err = errno;
    if (used == SpawnMethod::fork_then_move) {
        try {
            pid = fork_then_move(p, cgroup_dir_fd, report_write.get(), &pidfd);
        } catch (...) {
            ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
            throw;
        }
        err = errno;
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) throw RunError(errno_message("cannot start " + argv[0] + " in its cgroup", err));

    ChildProcess child(pid, UniqueFd(pidfd), used);
    report_write.reset();
    ChildFailure failure{0, 0};
    ssize_t n;
    do {
        n = ::read(report_read.get(), &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    if (n == ssize_t(sizeof failure)) {
        child.wait();
        if (failure.stage == 1)
            throw RunError(
                errno_message("cannot move " + argv[0] + " into its cgroup", failure.err));
        throw UsageError(errno_message("cannot execute " + p.file, failure.err));
    }
    return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)), method_(other.method_),
      status_(other.status_) {}

ChildProcess::~ChildProcess() {
    if (pid_ <= 0 || status_) return;
    signal(SIGKILL);
    try {
        wait();
    } catch (const RunError&) { // reaped elsewhere (SIGCHLD ignored): nothing left to do
    }
}

std::optional<int> ChildProcess::try_wait() {
    if (status_ || pid_ <= 0) return status_;
    siginfo_t info{};
    int rc;
    do {
        rc = ::waitid(P_PID, id_t(pid_), &info, WEXITED | WNOHANG);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) throw RunError(errno_message("waitid", errno));
    if (info.si_pid == 0) return std::nullopt;
    status_ = exit_status_of(info);
    return status_;
}

int ChildProcess::wait() {
    if (status_ || pid_ <= 0) return status_.value_or(-1);
    siginfo_t info{};
    int rc;
    do {
        rc = ::waitid(P_PID, id_t(pid_), &info, WEXITED);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) throw RunError(errno_message("waitid", errno));
    status_ = exit_status_of(info);
    return *status_;
}

std::optional<int> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + timeout;
    for (;;) {
        if (auto status = try_wait()) return status;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd pfd{pidfd_.get(), POLLIN, 0};
        ::poll(&pfd, 1, int(left.count()) + 1);
    }
}

void ChildProcess::signal(int sig) {
    if (pid_ > 0 && !status_) ::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0);
}

} // namespace copyscope
