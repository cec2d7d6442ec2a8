#include "workload/targets.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "workload/procfs.h"

namespace copyscope {

namespace {

long long pid_max() {
    auto text = read_text_file("/proc/sys/kernel/pid_max");
    if (!text) return 1 << 22; // PID_MAX_LIMIT on 64-bit
    while (!text->empty() && text->back() == '\n')
        text->pop_back();
    auto value = parse_positive(*text, 1 << 30);
    return value ? *value : 1 << 22;
}

// The "Key:\tvalue" line of /proc/PID/status.
std::string status_field(const std::string& status, const std::string& key) {
    auto at = status.find("\n" + key + ":");
    if (at == std::string::npos) return "";
    at += key.size() + 2;
    auto end = status.find('\n', at);
    std::string value = status.substr(at, end == std::string::npos ? end : end - at);
    value.erase(0, value.find_first_not_of(" \t"));
    return value;
}

} // namespace

std::vector<pid_t> parse_pid_list(const std::string& text) {
    std::vector<pid_t> pids;
    const long long max = pid_max();
    size_t start = 0;
    for (;;) {
        size_t end = text.find(',', start);
        std::string item = text.substr(start, end == std::string::npos ? end : end - start);
        auto pid = parse_positive(item, max - 1);
        if (!pid)
            throw UsageError("--pid " + text + ": '" + item + "' is not a process id (1 to " +
                             std::to_string(max - 1) + ")");
        if (std::find(pids.begin(), pids.end(), pid_t(*pid)) != pids.end())
            throw UsageError("--pid " + text + ": " + item + " is given twice");
        pids.push_back(pid_t(*pid));
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return pids;
}

ProcessTarget inspect_process(pid_t pid, const std::optional<Cgroup2Mount>& mount) {
    const std::string proc = "/proc/" + std::to_string(pid);
    const std::string what = "--pid " + std::to_string(pid) + ": ";
    auto status = read_text_file(proc + "/status");
    if (!status) throw UsageError(what + "no such process");
    status->insert(0, "\n");
    std::string tgid = status_field(*status, "Tgid");
    if (tgid != std::to_string(pid))
        throw UsageError(what + "a thread of process " + tgid + "; give the process id");
    if (status_field(*status, "State").rfind("Z", 0) == 0)
        throw UsageError(what + "the process has exited (a zombie)");
    ProcessTarget t;
    t.pid = pid;
    t.comm = status_field(*status, "Name");
    struct stat st {};
    if (::stat((proc + "/ns/net").c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ESRCH) throw UsageError(what + "no such process");
        throw RunError(errno_message("cannot stat " + proc + "/ns/net", errno));
    }
    t.netns_inode = st.st_ino;
    if (auto text = read_text_file(proc + "/cgroup")) {
        t.cgroup_path = parse_cgroup2_path(*text).value_or("");
        if (mount && !t.cgroup_path.empty()) t.cgroup = cgroup_at(t.cgroup_path, *mount);
    }
    return t;
}

NetnsTarget resolve_netns(const std::string& path) {
    const std::string what = "--netns " + path + ": ";
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw UsageError(errno_message(what + "cannot open", errno));
    struct statfs fs {};
    if (::fstatfs(fd.get(), &fs) != 0) throw UsageError(errno_message(what + "statfs", errno));
    if (fs.f_type != NSFS_MAGIC)
        throw UsageError(what + "not a namespace file (a bind mount under /run/netns or "
                                "/proc/PID/ns/net)");
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type >= 0 && type != CLONE_NEWNET)
        throw UsageError(what + "a namespace of another kind, not a network namespace");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw UsageError(errno_message(what + "stat", errno));
    return NetnsTarget{path, uint64_t(st.st_ino)};
}

} // namespace copyscope
