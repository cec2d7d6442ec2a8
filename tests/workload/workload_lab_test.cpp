// A cgroup of its own for COMMAND: created, COMMAND born inside it, its exit status
// passed on, leftovers killed, the directory removed in every ending (normal, exception,
// signal, and the sweep after SIGKILL of its owner). Root: cgroupfs is root's.
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <linux/magic.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/errors.h"
#include "support/system_probe.h"
#include "workload/child_cgroup.h"
#include "workload/command.h"
#include "workload/signals.h"

namespace copyscope {
namespace {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// copyscope-trace-* directories where copyscope could create them: the v2 mount's root,
// this process's own cgroup, and /sys/fs/cgroup (v2 on a pure-v2 host).
std::vector<std::string> trace_cgroups_left(const Cgroup2Mount& mount) {
    std::vector<std::string> dirs{mount.mount_point, "/sys/fs/cgroup"};
    if (auto own = cgroup_of_process(::getpid(), mount)) dirs.push_back(own->dir);
    std::vector<std::string> left;
    for (const auto& dir : dirs) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir, ec))
            if (e.path().filename().string().rfind("copyscope-trace-", 0) == 0)
                left.push_back(e.path().string());
    }
    return left;
}

// Running, as opposed to gone or a zombie nobody reaped yet.
bool running(pid_t pid) {
    std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return false;
    auto close = stat.rfind(')');
    return close != std::string::npos && stat.substr(close + 2, 1) != "Z";
}

pid_t read_pid_file(const std::string& path) {
    for (int i = 0; i < 500; ++i) { // the shell writes it right away
        std::string text = read_file(path);
        if (!text.empty() && text.back() == '\n') return pid_t(std::stol(text));
        ::usleep(10000);
    }
    return 0;
}

class WorkloadLab : public ::testing::Test {
  protected:
    void SetUp() override {
        COPYSCOPE_REQUIRE_ROOT();
        mount = find_cgroup2_mount();
        parent = default_trace_parent(mount);
        char tmpl[] = "/tmp/copyscope-workload-lab-XXXXXX";
        tmp = ::mkdtemp(tmpl);
    }
    void TearDown() override {
        if (!tmp.empty()) fs::remove_all(tmp);
        if (!testing::Test::IsSkipped()) {
            EXPECT_EQ(trace_cgroups_left(mount), std::vector<std::string>{})
                << "a trace cgroup was left behind";
        }
    }
    Cgroup2Mount mount;
    Cgroup parent;
    std::string tmp;
};

TEST_F(WorkloadLab, ChildCgroupIsCreatedAndRemoved) {
    std::string dir;
    {
        ChildCgroup cg(parent);
        dir = cg.cgroup().dir;
        EXPECT_EQ(fs::path(dir).filename(), "copyscope-trace-" + std::to_string(::getpid()));
        EXPECT_EQ(fs::path(dir).parent_path(), parent.dir);
        struct statfs sfs {};
        ASSERT_EQ(::statfs(dir.c_str(), &sfs), 0);
        EXPECT_EQ(sfs.f_type, CGROUP2_SUPER_MAGIC);
        struct stat st {};
        ASSERT_EQ(::stat(dir.c_str(), &st), 0);
        EXPECT_EQ(cg.cgroup().id, st.st_ino);
        EXPECT_EQ(cg.cgroup().depth, parent.depth + 1);
        EXPECT_TRUE(cg.processes().empty());
        EXPECT_FALSE(cg.populated());
        ChildCgroup second(parent); // a second one in the same process gets its own name
        EXPECT_NE(second.cgroup().dir, dir);
        ChildCgroup::Removal r = second.remove();
        EXPECT_TRUE(r.removed) << r.error;
        EXPECT_TRUE(r.killed.empty());
        EXPECT_FALSE(fs::exists(second.cgroup().dir));
    }
    EXPECT_FALSE(fs::exists(dir));
}

class SpawnLab : public WorkloadLab, public ::testing::WithParamInterface<SpawnMethod> {};

TEST_P(SpawnLab, CommandRunsInsideAndItsExitStatusComesBack) {
    ChildCgroup cg(parent);
    std::string out = tmp + "/cgroup";
    auto child = ChildProcess::spawn(
        {"/bin/sh", "-c", "cat /proc/self/cgroup > " + out + "; exit 3"}, cg.dir_fd(), GetParam());
    EXPECT_EQ(child.method(), GetParam());
    EXPECT_EQ(child.wait(), 3);
    EXPECT_NE(read_file(out).find("0::" + cg.cgroup().path + "\n"), std::string::npos)
        << read_file(out);
    auto r = cg.remove();
    EXPECT_TRUE(r.removed) << r.error;
    EXPECT_TRUE(r.killed.empty());
}

TEST_P(SpawnLab, KilledCommandGives128PlusSignal) {
    ChildCgroup cg(parent);
    auto child = ChildProcess::spawn({"sh", "-c", "kill -9 $$"}, cg.dir_fd(), GetParam());
    EXPECT_EQ(child.wait(), 128 + SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Methods, SpawnLab,
                         ::testing::Values(SpawnMethod::clone_into_cgroup,
                                           SpawnMethod::fork_then_move),
                         [](const auto& info) {
                             return info.param == SpawnMethod::clone_into_cgroup
                                        ? "clone_into_cgroup"
                                        : "fork_then_move";
                         });

TEST_F(WorkloadLab, AutomaticUsesCloneIntoCgroupOnThisKernel) {
    ChildCgroup cg(parent);
    auto child = ChildProcess::spawn({"true"}, cg.dir_fd());
    EXPECT_EQ(child.method(), SpawnMethod::clone_into_cgroup);
    EXPECT_EQ(child.wait(), 0);
}

TEST_F(WorkloadLab, LeftoverBackgroundChildIsKilledAndTheCgroupRemoved) {
    ChildCgroup cg(parent);
    std::string pidfile = tmp + "/bg.pid";
    auto child = ChildProcess::spawn({"sh", "-c", "sleep 300 & echo $! > " + pidfile + "; exit 0"},
                                     cg.dir_fd());
    EXPECT_EQ(child.wait(), 0);
    pid_t bg = read_pid_file(pidfile);
    ASSERT_GT(bg, 0);
    EXPECT_TRUE(running(bg));
    EXPECT_TRUE(cg.populated());
    EXPECT_EQ(cg.processes(), std::vector<pid_t>{bg});
    std::string dir = cg.cgroup().dir;
    auto r = cg.remove();
    EXPECT_TRUE(r.removed) << r.error;
    EXPECT_EQ(r.killed, std::vector<pid_t>{bg});
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(running(bg));
    EXPECT_TRUE(cg.remove().removed); // idempotent
}

TEST_F(WorkloadLab, SubCgroupsTheCommandMadeAreRemovedToo) {
    ChildCgroup cg(parent);
    auto child = ChildProcess::spawn(
        {"sh", "-c", "mkdir -p " + cg.cgroup().dir + "/inner/deeper && exit 0"}, cg.dir_fd());
    EXPECT_EQ(child.wait(), 0);
    EXPECT_TRUE(fs::exists(cg.cgroup().dir + "/inner/deeper"));
    auto r = cg.remove();
    EXPECT_TRUE(r.removed) << r.error;
}

TEST_F(WorkloadLab, CommandNotFoundStartsNothing) {
    ChildCgroup cg(parent);
    try {
        ChildProcess::spawn({"copyscope-no-such-command", "x"}, cg.dir_fd());
        ADD_FAILURE() << "no UsageError";
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(), "COMMAND not found: copyscope-no-such-command");
    }
    EXPECT_FALSE(cg.populated());
}

TEST_F(WorkloadLab, ExecFailureAfterLookupIsAUsageError) {
    // Found and executable, but not a format the kernel runs (no #! line, not ELF).
    std::string bogus = tmp + "/bogus";
    std::ofstream(bogus) << "\x01\x02 not a program\n";
    ::chmod(bogus.c_str(), 0755);
    ChildCgroup cg(parent);
    EXPECT_THROW(ChildProcess::spawn({bogus}, cg.dir_fd()), UsageError);
    EXPECT_FALSE(cg.populated());
}

TEST_F(WorkloadLab, AnExceptionKillsTheCommandAndRemovesTheCgroup) {
    std::string dir;
    pid_t pid = 0;
    try {
        ChildCgroup cg(parent);
        dir = cg.cgroup().dir;
        auto child = ChildProcess::spawn({"sleep", "300"}, cg.dir_fd());
        pid = child.pid();
        EXPECT_TRUE(running(pid));
        throw RunError("something failed while tracing");
    } catch (const RunError&) {
    }
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(running(pid));
}

TEST_F(WorkloadLab, SigtermAndSigintSentToCopyscopeReachTheCommand) {
    for (int sig : {SIGTERM, SIGINT}) {
        ChildCgroup cg(parent);
        SignalForwarder forwarder;
        auto child = ChildProcess::spawn({"sleep", "300"}, cg.dir_fd());
        forwarder.forward_to(child.pidfd());
        ASSERT_EQ(::kill(::getpid(), sig), 0); // as `kill PID` would: si_code SI_USER
        EXPECT_EQ(child.wait_for(std::chrono::seconds(30)), 128 + sig);
        EXPECT_EQ(forwarder.received(), sig);
        pollfd pfd{forwarder.wake_fd(), POLLIN, 0};
        EXPECT_EQ(::poll(&pfd, 1, 0), 1);
    }
    // The handlers are gone with the forwarder: the default action is back.
    struct sigaction now {};
    ::sigaction(SIGTERM, nullptr, &now);
    EXPECT_EQ(now.sa_handler, SIG_DFL);
}

TEST_F(WorkloadLab, SignalsFromTheTerminalAreNotForwardedTwice) {
    // Ctrl-C reaches COMMAND through the process group already; a second copy from
    // copyscope would make it see two. A process may queue itself a signal that looks like
    // the kernel's (si_code SI_KERNEL), as the terminal's does.
    ChildCgroup cg(parent);
    SignalForwarder forwarder;
    auto child = ChildProcess::spawn({"sleep", "300"}, cg.dir_fd());
    forwarder.forward_to(child.pidfd());
    siginfo_t info{};
    info.si_signo = SIGINT;
    info.si_code = SI_KERNEL;
    ASSERT_EQ(::syscall(SYS_rt_sigqueueinfo, ::getpid(), SIGINT, &info), 0);
    EXPECT_EQ(forwarder.received(), SIGINT);
    EXPECT_EQ(child.wait_for(std::chrono::milliseconds(300)), std::nullopt) << "forwarded";
}

// A stand-in for copyscope in a session of its own on a pseudo-terminal: it runs `sleep`
// in a trace cgroup and reports the command's status and the signal it saw itself.
[[noreturn]] void traced_on_a_terminal(const Cgroup& parent, const char* slave, int report) {
    ::setsid();
    int tty = ::open(slave, O_RDWR); // the session's controlling terminal from now on
    if (tty < 0 || ::ioctl(tty, TIOCSCTTY, 0) != 0) ::_exit(2);
    int result[2] = {-1, -1};
    try {
        ChildCgroup cg(parent);
        SignalForwarder forwarder;
        auto child = ChildProcess::spawn({"sleep", "300"}, cg.dir_fd());
        forwarder.forward_to(child.pidfd());
        if (::write(report, "r", 1) != 1) ::_exit(3);
        result[0] = child.wait_for(std::chrono::seconds(30)).value_or(-1);
        result[1] = forwarder.received();
    } catch (...) {
    }
    ::_exit(::write(report, result, sizeof result) == sizeof result ? 0 : 4);
}

TEST_F(WorkloadLab, CtrlCOnTheTerminalEndsTheCommandNotCopyscope) {
    int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(master, 0);
    ASSERT_EQ(::grantpt(master), 0);
    ASSERT_EQ(::unlockpt(master), 0);
    std::string slave = ::ptsname(master);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t copyscope = ::fork();
    ASSERT_GE(copyscope, 0);
    if (copyscope == 0) {
        ::close(fds[0]);
        traced_on_a_terminal(parent, slave.c_str(), fds[1]);
    }
    ::close(fds[1]);
    char ready = 0;
    ASSERT_EQ(::read(fds[0], &ready, 1), 1);
    ASSERT_EQ(::write(master, "\x03", 1), 1); // Ctrl-C: SIGINT to the foreground group
    int result[2] = {0, 0};
    EXPECT_EQ(::read(fds[0], result, sizeof result), ssize_t(sizeof result));
    int status = 0;
    ::waitpid(copyscope, &status, 0);
    ::close(fds[0]);
    ::close(master);
    EXPECT_EQ(result[0], 128 + SIGINT) << "the command's status";
    EXPECT_EQ(result[1], SIGINT) << "copyscope saw it and lived on";
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(WorkloadLab, StaleCgroupOfAKilledOwnerIsSweptByTheNextCreation) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t owner = ::fork();
    ASSERT_GE(owner, 0);
    if (owner == 0) { // a stand-in for a copyscope that is about to be SIGKILLed
        ::close(fds[0]);
        try {
            ChildCgroup cg(parent);
            std::string dir = cg.cgroup().dir + "\n";
            if (::write(fds[1], dir.data(), dir.size()) < 0) ::_exit(1);
            ::pause();
        } catch (...) {
        }
        ::_exit(1);
    }
    ::close(fds[1]);
    char buf[4096] = {};
    ssize_t n = ::read(fds[0], buf, sizeof buf - 1);
    ::close(fds[0]);
    ::kill(owner, SIGKILL);
    ::waitpid(owner, nullptr, 0);
    ASSERT_GT(n, 1);
    std::string stale(buf, size_t(n - 1));
    EXPECT_EQ(fs::path(stale).filename(), "copyscope-trace-" + std::to_string(owner));
    ASSERT_TRUE(fs::exists(stale)) << "SIGKILL leaves the empty directory";
    ChildCgroup next(parent);
    EXPECT_FALSE(fs::exists(stale)) << "the next creation sweeps it";
}

TEST_F(WorkloadLab, SweepLeavesAStaleCgroupThatStillRunsSomething) {
    // The owner is gone but its COMMAND still runs: not ours to kill.
    pid_t gone = ::fork();
    if (gone == 0) ::_exit(0);
    ::waitpid(gone, nullptr, 0);
    std::string stale = parent.dir + "/copyscope-trace-" + std::to_string(gone);
    ASSERT_EQ(::mkdir(stale.c_str(), 0755), 0);
    int dir_fd = ::open(stale.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    std::optional<ChildProcess> survivor;
    survivor.emplace(ChildProcess::spawn({"sleep", "300"}, dir_fd));
    ::close(dir_fd);
    EXPECT_EQ(sweep_stale_trace_cgroups(parent.dir), 0);
    EXPECT_TRUE(fs::exists(stale));
    survivor.reset(); // SIGKILL and reap
    EXPECT_EQ(sweep_stale_trace_cgroups(parent.dir), 1);
    EXPECT_FALSE(fs::exists(stale));
}

} // namespace
} // namespace copyscope
