#include "workload/child_cgroup.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "common/errors.h"
#include "workload/procfs.h"

namespace copyscope {

namespace {

constexpr std::string_view kPrefix = "copyscope-trace-";

// The pid in "copyscope-trace-<pid>[-N]", or 0 when the name is not one of ours.
pid_t pid_in_name(const std::string& name) {
    if (name.compare(0, kPrefix.size(), kPrefix) != 0) return 0;
    std::string rest = name.substr(kPrefix.size());
    std::string suffix;
    if (auto dash = rest.find('-'); dash != std::string::npos) {
        suffix = rest.substr(dash + 1);
        rest = rest.substr(0, dash);
        if (!parse_positive(suffix, 1'000'000)) return 0;
    }
    auto pid = parse_positive(rest, 1 << 30);
    return pid ? pid_t(*pid) : 0;
}

bool process_exists(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

// The cgroup directory and its sub-cgroups, every child before its parent (the order
// rmdir needs).
std::vector<std::string> subtree_children_first(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> dirs{dir};
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path().string());
    std::reverse(dirs.begin(), dirs.end()); // pre-order reversed: children before parents
    return dirs;
}

// rmdir of every directory, children first; 0 or the errno of the first failure.
int remove_subtree(const std::string& dir) {
    for (const auto& d : subtree_children_first(dir))
        if (::rmdir(d.c_str()) != 0 && errno != ENOENT) return errno;
    return 0;
}

bool is_populated(const std::string& dir) {
    auto events = read_text_file(dir + "/cgroup.events");
    return events && events->find("populated 1") != std::string::npos;
}

std::vector<pid_t> procs_below(const std::string& dir) {
    std::vector<pid_t> pids;
    for (const auto& d : subtree_children_first(dir)) {
        auto text = read_text_file(d + "/cgroup.procs");
        if (!text) continue;
        std::istringstream in(*text);
        for (pid_t pid; in >> pid;)
            pids.push_back(pid);
    }
    return pids;
}

// cgroup.kill (5.14+) kills the whole subtree at once, racing no fork; before it, kill
// what cgroup.procs lists until nothing is left.
void kill_everything_in(const std::string& dir) {
    if (write_text_file(dir + "/cgroup.kill", "1")) return;
    for (int round = 0; round < 50 && is_populated(dir); ++round) {
        for (pid_t pid : procs_below(dir))
            ::kill(pid, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace

Cgroup default_trace_parent(const Cgroup2Mount& mount) {
    if (auto own = cgroup_of_process(::getpid(), mount)) return *own;
    if (auto root = cgroup_at(mount.root, mount)) return *root;
    throw RunError("cannot find a cgroup v2 directory to create a cgroup in below " +
                   mount.mount_point);
}

int sweep_stale_trace_cgroups(const std::string& parent_dir) {
    DIR* d = ::opendir(parent_dir.c_str());
    if (!d) return 0;
    std::vector<std::string> stale;
    while (dirent* e = ::readdir(d)) {
        pid_t pid = pid_in_name(e->d_name);
        if (pid > 0 && pid != ::getpid() && !process_exists(pid))
            stale.push_back(parent_dir + "/" + e->d_name);
    }
    ::closedir(d);
    int removed = 0;
    for (const auto& dir : stale)
        if (!is_populated(dir) && remove_subtree(dir) == 0) ++removed;
    return removed;
}

ChildCgroup::ChildCgroup(const Cgroup& parent) {
    sweep_stale_trace_cgroups(parent.dir);
    std::string name;
    for (int n = 1;; ++n) {
        name = std::string(kPrefix) + std::to_string(::getpid());
        if (n > 1) name += "-" + std::to_string(n);
        std::string dir = parent.dir + "/" + name;
        if (::mkdir(dir.c_str(), 0755) == 0) break;
        if (errno != EEXIST || n == 1000)
            throw RunError(errno_message("cannot create the cgroup " + dir, errno));
    }
    cgroup_.dir = parent.dir + "/" + name;
    cgroup_.path = parent.path == "/" ? "/" + name : parent.path + "/" + name;
    cgroup_.depth = parent.depth + 1;
    owned_ = true;
    dir_fd_ = UniqueFd(::open(cgroup_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    struct stat st {};
    if (!dir_fd_ || ::fstat(dir_fd_.get(), &st) != 0) {
        int err = errno;
        remove();
        throw RunError(errno_message("cannot open the cgroup " + cgroup_.dir, err));
    }
    cgroup_.id = st.st_ino;
}

ChildCgroup::ChildCgroup(ChildCgroup&& other) noexcept
    : cgroup_(std::move(other.cgroup_)), dir_fd_(std::move(other.dir_fd_)),
      owned_(std::exchange(other.owned_, false)) {}

ChildCgroup::~ChildCgroup() {
    if (!owned_) return;
    Removal r = remove();
    if (!r.removed) std::fprintf(stderr, "copyscope: %s\n", r.error.c_str());
}

std::vector<pid_t> ChildCgroup::processes() const {
    return procs_below(cgroup_.dir);
}

bool ChildCgroup::populated() const {
    return is_populated(cgroup_.dir);
}

ChildCgroup::Removal ChildCgroup::remove() {
    Removal r;
    if (!owned_) {
        r.removed = true;
        return r;
    }
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(5);
    r.killed = processes();
    if (!r.killed.empty() || populated()) kill_everything_in(cgroup_.dir);
    // Killing is asynchronous: rmdir says EBUSY until the last task has exited.
    int err = 0;
    for (;;) {
        err = populated() ? EBUSY : remove_subtree(cgroup_.dir);
        if (err == 0 || err != EBUSY || clock::now() >= deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (err != 0) {
        r.error = errno_message("cannot remove the cgroup " + cgroup_.dir, err);
        if (populated()) r.error += " (processes are still inside)";
        return r;
    }
    dir_fd_.reset();
    owned_ = false;
    r.removed = true;
    return r;
}

} // namespace copyscope
