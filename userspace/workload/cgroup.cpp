#include "workload/cgroup.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <vector>

#include "common/errors.h"
#include "workload/procfs.h"

namespace copyscope {

namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (start <= text.size()) {
        size_t end = text.find(sep, start);
        if (end == std::string_view::npos) end = text.size();
        parts.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return parts;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() &&
            field.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos) {
            out.push_back(
                char((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 + (field[i + 3] - '0')));
            i += 3;
        } else {
            out.push_back(field[i]);
        }
    }
    return out;
}

std::string hex(long value) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%#lx", value);
    return buf;
}

std::optional<std::string> real_path(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return std::nullopt;
    return std::string(buf);
}

// "/a/b" + "c" or "/c" -> "/a/b/c"; "" or "/" add nothing.
std::string join(const std::string& base, std::string_view rest) {
    while (!rest.empty() && rest.front() == '/')
        rest.remove_prefix(1);
    if (rest.empty()) return base;
    return base == "/" ? "/" + std::string(rest) : base + "/" + std::string(rest);
}

int depth_of(const std::string& path) {
    int depth = 0;
    for (auto part : split(path, '/'))
        if (!part.empty()) ++depth;
    return depth;
}

// `dir` (canonical) as a cgroup of `mount`, or nullopt when it is not below the mount.
std::optional<Cgroup> cgroup_from_dir(const std::string& dir, const Cgroup2Mount& mount) {
    const std::string& mp = mount.mount_point;
    std::string rel;
    if (dir == mp) {
        rel = "";
    } else if (dir.size() > mp.size() && dir.compare(0, mp.size(), mp) == 0 &&
               (dir[mp.size()] == '/' || mp == "/")) {
        rel = dir.substr(mp == "/" ? 1 : mp.size() + 1);
    } else {
        return std::nullopt;
    }
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    Cgroup cg;
    cg.dir = dir;
    cg.path = join(mount.root, rel);
    cg.id = st.st_ino;
    cg.depth = depth_of(cg.path);
    return cg;
}

} // namespace

std::optional<Cgroup2Mount> parse_cgroup2_mount(std::string_view mountinfo) {
    std::optional<Cgroup2Mount> first;
    for (auto line : split(mountinfo, '\n')) {
        // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
        auto fields = split(line, ' ');
        size_t dash = 6;
        while (dash < fields.size() && fields[dash] != "-")
            ++dash;
        if (dash + 1 >= fields.size() || fields[dash + 1] != "cgroup2") continue;
        Cgroup2Mount mount{unescape_octal(fields[4]), unescape_octal(fields[3])};
        if (mount.root == "/") return mount;
        if (!first) first = mount;
    }
    return first;
}

Cgroup2Mount find_cgroup2_mount() {
    auto text = read_text_file("/proc/self/mountinfo");
    if (!text) throw RunError(errno_message("cannot read /proc/self/mountinfo", errno));
    auto mount = parse_cgroup2_mount(*text);
    if (!mount)
        throw UsageError("cgroup v2 is not mounted (no cgroup2 line in /proc/self/mountinfo); "
                         "mount it, e.g. mount -t cgroup2 none /sys/fs/cgroup/unified");
    return *mount;
}

std::optional<std::string> parse_cgroup2_path(std::string_view proc_pid_cgroup) {
    for (auto line : split(proc_pid_cgroup, '\n'))
        if (line.size() >= 4 && line.substr(0, 3) == "0::") return std::string(line.substr(3));
    return std::nullopt;
}

std::optional<Cgroup> cgroup_at(const std::string& path, const Cgroup2Mount& mount) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    for (auto part : split(path, '/'))
        if (part == "..") return std::nullopt; // above this cgroup namespace's root
    std::string rel;
    if (mount.root == "/") {
        rel = path;
    } else if (path == mount.root) {
        rel = "";
    } else if (path.compare(0, mount.root.size() + 1, mount.root + "/") == 0) {
        rel = path.substr(mount.root.size());
    } else {
        return std::nullopt;
    }
    return cgroup_from_dir(join(mount.mount_point, rel), mount);
}

std::optional<Cgroup> cgroup_of_process(pid_t pid, const Cgroup2Mount& mount) {
    auto text = read_text_file("/proc/" + std::to_string(pid) + "/cgroup");
    if (!text) return std::nullopt;
    auto path = parse_cgroup2_path(*text);
    if (!path) return std::nullopt;
    return cgroup_at(*path, mount);
}

namespace {

// Why `dir` (existing, canonical) is not a cgroup v2 directory under `mount`; empty: it is.
std::string refusal(const std::string& dir, const Cgroup2Mount& mount) {
    struct statfs fs {};
    if (::statfs(dir.c_str(), &fs) != 0) return errno_message("cannot statfs " + dir, errno);
    if (fs.f_type == CGROUP_SUPER_MAGIC)
        return dir + " is a cgroup v1 directory (statfs magic " + hex(CGROUP_SUPER_MAGIC) +
               ", cgroup2 is " + hex(CGROUP2_SUPER_MAGIC) +
               "): sockets carry only their cgroup v2; give a cgroup under " + mount.mount_point;
    if (fs.f_type != CGROUP2_SUPER_MAGIC)
        return dir + " is not a cgroup (filesystem magic " + hex(long(fs.f_type)) +
               ", cgroup2 is " + hex(CGROUP2_SUPER_MAGIC) + ")";
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return dir + " is a file of cgroupfs, not a cgroup directory";
    if (!cgroup_from_dir(dir, mount))
        return dir + " is not below the cgroup v2 mount " + mount.mount_point;
    return "";
}

} // namespace

Cgroup resolve_cgroup(const std::string& user_path, const Cgroup2Mount& mount) {
    const std::string what = "--cgroup " + user_path + ": ";
    if (user_path.empty()) throw UsageError("--cgroup: empty path");
    // An absolute path is first a directory; failing that, a path as /proc/PID/cgroup
    // shows it. A relative path is relative to the mount.
    std::vector<std::string> candidates;
    if (user_path.front() == '/') candidates.push_back(user_path);
    if (user_path.front() != '/' || user_path.rfind(mount.mount_point + "/", 0) != 0)
        candidates.push_back(join(mount.mount_point, user_path));
    std::string first_refusal;
    for (const auto& candidate : candidates) {
        auto dir = real_path(candidate);
        if (!dir) continue;
        std::string why = refusal(*dir, mount);
        if (why.empty()) {
            if (auto cg = cgroup_from_dir(*dir, mount)) return *cg;
            continue; // removed meanwhile
        }
        if (first_refusal.empty()) first_refusal = why;
    }
    if (!first_refusal.empty()) throw UsageError(what + first_refusal);
    throw UsageError(what + "no such cgroup (cgroup v2 is mounted at " + mount.mount_point + ")");
}

} // namespace copyscope
