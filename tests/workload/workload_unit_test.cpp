// Parsing and validation of what `copyscope trace` is given: mountinfo and /proc/PID/cgroup
// text, cgroup paths, COMMAND lookup, --pid and --netns. No root needed.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

#include "common/errors.h"
#include "workload/cgroup.h"
#include "workload/command.h"
#include "workload/targets.h"

namespace copyscope {
namespace {

namespace fs = std::filesystem;

// Expects a UsageError whose message contains every one of `parts`.
template <typename F> void expect_usage_error(F f, std::initializer_list<std::string> parts) {
    try {
        f();
        ADD_FAILURE() << "no UsageError";
    } catch (const UsageError& e) {
        std::string what = e.what();
        EXPECT_EQ(what.find('\n'), std::string::npos) << "one line: " << what;
        for (const auto& part : parts)
            EXPECT_NE(what.find(part), std::string::npos) << what << " lacks " << part;
    }
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/copyscope-workload-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// The hybrid layout of this kind of VM: v1 controllers at /sys/fs/cgroup, v2 beside them.
const char* kHybrid = "22 1 0:20 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n"
                      "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
                      "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
                      "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
                      "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup "
                      "rw,name=systemd\n"
                      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A fresh Debian 12: pure v2 with optional fields (shared:N) before the separator.
const char* kPureV2 =
    "24 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
    "26 24 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "29 26 0:25 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - "
    "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

TEST(Mountinfo, HybridHierarchyFindsUnified) {
    auto mount = parse_cgroup2_mount(kHybrid);
    ASSERT_TRUE(mount);
    EXPECT_EQ(mount->mount_point, "/sys/fs/cgroup/unified");
    EXPECT_EQ(mount->root, "/");
}

TEST(Mountinfo, PureV2FindsSysFsCgroup) {
    auto mount = parse_cgroup2_mount(kPureV2);
    ASSERT_TRUE(mount);
    EXPECT_EQ(mount->mount_point, "/sys/fs/cgroup");
}

TEST(Mountinfo, V1OnlyHasNone) {
    EXPECT_FALSE(
        parse_cgroup2_mount("31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"));
    EXPECT_FALSE(parse_cgroup2_mount(""));
}

TEST(Mountinfo, PrefersTheWholeHierarchyAndUnescapes) {
    // A container bind-mounts a subtree first; the whole hierarchy, at a path with a space
    // (escaped \040), comes later.
    auto mount = parse_cgroup2_mount("50 1 0:37 /docker/abc /c rw - cgroup2 cgroup2 rw\n"
                                     "51 1 0:37 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n");
    ASSERT_TRUE(mount);
    EXPECT_EQ(mount->mount_point, "/mnt/cg two");
    auto only_subtree = parse_cgroup2_mount("50 1 0:37 /docker/abc /c rw - cgroup2 cgroup2 rw\n");
    ASSERT_TRUE(only_subtree);
    EXPECT_EQ(only_subtree->root, "/docker/abc");
}

TEST(ProcCgroup, TheV2LineOnly) {
    EXPECT_EQ(parse_cgroup2_path("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/9b65\n0::/\n"),
              "/");
    EXPECT_EQ(parse_cgroup2_path("0::/user.slice/user-1000.slice/session-2.scope\n"),
              "/user.slice/user-1000.slice/session-2.scope");
    EXPECT_FALSE(parse_cgroup2_path("4:memory:/a\n1:name=systemd:/\n"));
    EXPECT_EQ(parse_cgroup2_path("0::/../../sibling\n"), "/../../sibling");
}

TEST(CgroupAt, MapsThroughTheMountRoot) {
    TempDir t;
    fs::create_directories(t.path / "a" / "b");
    Cgroup2Mount mount{t.path.string(), "/sub"}; // only /sub of the hierarchy is mounted
    auto cg = cgroup_at("/sub/a/b", mount);
    ASSERT_TRUE(cg);
    EXPECT_EQ(cg->dir, (t.path / "a" / "b").string());
    EXPECT_EQ(cg->path, "/sub/a/b");
    EXPECT_EQ(cg->depth, 3);
    struct stat st {};
    ASSERT_EQ(::stat(cg->dir.c_str(), &st), 0);
    EXPECT_EQ(cg->id, st.st_ino);
    EXPECT_FALSE(cgroup_at("/other/a", mount));  // beside the mounted subtree
    EXPECT_FALSE(cgroup_at("/sub/../x", mount)); // outside this cgroup namespace
    EXPECT_FALSE(cgroup_at("/sub/missing", mount));
    auto root = cgroup_at("/sub", mount);
    ASSERT_TRUE(root);
    EXPECT_EQ(root->dir, t.path.string());
}

TEST(ResolveCgroup, OnThisMachine) {
    Cgroup2Mount mount;
    try {
        mount = find_cgroup2_mount();
    } catch (const UsageError&) {
        GTEST_SKIP() << "cgroup v2 is not mounted here";
    }
    struct stat st {};
    ASSERT_EQ(::stat(mount.mount_point.c_str(), &st), 0);
    for (std::string given : {std::string("/"), mount.mount_point, std::string("")}) {
        if (given.empty()) continue;
        Cgroup root = resolve_cgroup(given, mount);
        EXPECT_EQ(root.path, "/") << given;
        EXPECT_EQ(root.id, st.st_ino) << given;
        EXPECT_EQ(root.depth, 0);
    }
    expect_usage_error([&] { resolve_cgroup("copyscope-no-such-cgroup", mount); },
                       {"--cgroup copyscope-no-such-cgroup", "no such cgroup", mount.mount_point});
    expect_usage_error([&] { resolve_cgroup("/etc", mount); }, {"/etc", "not a cgroup"});
    expect_usage_error([&] { resolve_cgroup(mount.mount_point + "/cgroup.procs", mount); },
                       {"not a cgroup directory"});
    expect_usage_error([&] { resolve_cgroup("", mount); }, {"--cgroup"});
}

TEST(ResolveCgroup, RefusesCgroupV1WithTheMagic) {
    auto text = std::ifstream("/proc/self/mountinfo");
    std::string line, v1;
    while (std::getline(text, line))
        if (line.find(" - cgroup cgroup ") != std::string::npos) {
            std::istringstream in(line);
            std::string f[5];
            for (auto& s : f)
                in >> s;
            v1 = f[4];
            break;
        }
    if (v1.empty()) GTEST_SKIP() << "no cgroup v1 hierarchy mounted on this host";
    Cgroup2Mount mount = find_cgroup2_mount();
    expect_usage_error([&] { resolve_cgroup(v1, mount); },
                       {"--cgroup " + v1, "cgroup v1", "0x27e0eb", mount.mount_point});
}

TEST(ResolveExecutable, ThroughPathLikeExecvp) {
    EXPECT_EQ(resolve_executable("sh", "/nonexistent:/bin"), "/bin/sh");
    EXPECT_EQ(resolve_executable("/bin/sh", "/nonexistent"), "/bin/sh");
    expect_usage_error([] { resolve_executable("copyscope-no-such-command", "/bin:/usr/bin"); },
                       {"COMMAND not found: copyscope-no-such-command"});
    expect_usage_error([] { resolve_executable("/nonexistent/cmd", "/bin"); },
                       {"COMMAND not found: /nonexistent/cmd"});
    expect_usage_error([] { resolve_executable("sh", "/nonexistent"); }, {"COMMAND not found: sh"});
}

TEST(ResolveExecutable, NotExecutableAndEmptyPathEntry) {
    TempDir t;
    std::string plain = (t.path / "plain").string();
    std::ofstream(plain) << "data\n";
    ::chmod(plain.c_str(), 0644);
    expect_usage_error([&] { resolve_executable(plain, "/bin"); },
                       {"COMMAND is not executable: " + plain});
    expect_usage_error([&] { resolve_executable("plain", t.path.c_str()); },
                       {"COMMAND is not executable: " + plain});
    expect_usage_error([&] { resolve_executable(t.path.string(), "/bin"); }, {"not executable"});
    std::string tool = (t.path / "tool").string();
    std::ofstream(tool) << "#!/bin/sh\n";
    ::chmod(tool.c_str(), 0755);
    // An empty PATH entry is the current directory, as for execvp.
    auto cwd = fs::current_path();
    fs::current_path(t.path);
    EXPECT_EQ(resolve_executable("tool", "/nonexistent::/bin"), "./tool");
    fs::current_path(cwd);
}

TEST(ExitStatus, LikeTime) {
    siginfo_t info{};
    info.si_code = CLD_EXITED;
    info.si_status = 3;
    EXPECT_EQ(exit_status_of(info), 3);
    info.si_code = CLD_KILLED;
    info.si_status = SIGKILL;
    EXPECT_EQ(exit_status_of(info), 137);
    info.si_code = CLD_DUMPED;
    info.si_status = SIGSEGV;
    EXPECT_EQ(exit_status_of(info), 139);
}

TEST(PidList, ParsesAndRefuses) {
    EXPECT_EQ(parse_pid_list("1"), std::vector<pid_t>{1});
    EXPECT_EQ(parse_pid_list("12,345"), (std::vector<pid_t>{12, 345}));
    for (std::string bad : {"", "1,", ",1", "a", "-1", "0", "+5", " 5", "1 ,2", "99999999999"})
        expect_usage_error([&] { parse_pid_list(bad); }, {"--pid " + bad, "not a process id"});
    expect_usage_error([] { parse_pid_list("7,7"); }, {"given twice"});
}

TEST(InspectProcess, ThisProcess) {
    std::optional<Cgroup2Mount> mount;
    try {
        mount = find_cgroup2_mount();
    } catch (const UsageError&) {
    }
    ProcessTarget t = inspect_process(::getpid(), mount);
    EXPECT_EQ(t.pid, ::getpid());
    std::string comm;
    std::getline(std::ifstream("/proc/self/comm"), comm);
    EXPECT_EQ(t.comm, comm);
    struct stat st {};
    ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0);
    EXPECT_EQ(t.netns_inode, st.st_ino);
    if (mount) {
        ASSERT_TRUE(t.cgroup);
        EXPECT_EQ(t.cgroup->path, t.cgroup_path);
        ASSERT_EQ(::stat(t.cgroup->dir.c_str(), &st), 0);
        EXPECT_EQ(t.cgroup->id, st.st_ino);
    }
}

TEST(InspectProcess, NoSuchProcessAndThreads) {
    long long max = 4194304;
    std::ifstream("/proc/sys/kernel/pid_max") >> max;
    pid_t unused = pid_t(max - 1);
    while (fs::exists("/proc/" + std::to_string(unused)))
        --unused;
    expect_usage_error([&] { inspect_process(unused, std::nullopt); },
                       {"--pid " + std::to_string(unused), "no such process"});
    std::atomic<bool> done{false};
    std::atomic<pid_t> live_tid{0};
    std::thread worker([&] {
        live_tid = pid_t(::syscall(SYS_gettid));
        while (!done)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
    while (live_tid == 0)
        std::this_thread::yield();
    expect_usage_error([&] { inspect_process(live_tid, std::nullopt); },
                       {"a thread of process " + std::to_string(::getpid())});
    done = true;
    worker.join();
}

TEST(Netns, ProcFileAndRefusals) {
    NetnsTarget t = resolve_netns("/proc/self/ns/net");
    struct stat st {};
    ASSERT_EQ(::stat("/proc/self/ns/net", &st), 0);
    EXPECT_EQ(t.inode, st.st_ino);
    expect_usage_error([] { resolve_netns("/nonexistent/netns"); },
                       {"--netns /nonexistent/netns", "No such file"});
    expect_usage_error([] { resolve_netns("/proc/self/status"); }, {"not a namespace file"});
    expect_usage_error([] { resolve_netns("/proc/self/ns/uts"); }, {"not a network namespace"});
}

} // namespace
} // namespace copyscope
