#include "support/system_probe.h"

#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>

namespace copyscope::testsupport {

namespace fs = std::filesystem;

namespace {

// "net:[4026532000]" -> 4026532000
bool parse_net_link(const std::string& target, uint64_t& inode) {
    if (target.rfind("net:[", 0) != 0) return false;
    inode = std::stoull(target.substr(5));
    return true;
}

void collect_links(const fs::path& dir, std::set<uint64_t>& out) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        auto target = fs::read_symlink(it->path(), ec);
        uint64_t inode = 0;
        if (!ec && parse_net_link(target.string(), inode)) out.insert(inode);
        ec.clear();
    }
}

void collect_process(const fs::path& proc, std::set<uint64_t>& out) {
    std::error_code ec;
    collect_links(proc / "fd", out);
    for (fs::directory_iterator it(proc / "task", ec), end; !ec && it != end; it.increment(ec)) {
        auto target = fs::read_symlink(it->path() / "ns" / "net", ec);
        uint64_t inode = 0;
        if (!ec && parse_net_link(target.string(), inode)) out.insert(inode);
        ec.clear();
    }
}

} // namespace

bool running_as_root() { return geteuid() == 0; }

std::set<uint64_t> net_namespaces_of(pid_t pid) {
    std::set<uint64_t> out;
    collect_process(fs::path("/proc") / std::to_string(pid), out);
    return out;
}

std::set<uint64_t> visible_net_namespaces() {
    std::set<uint64_t> out;
    std::error_code ec;
    for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        collect_process(it->path(), out);
    }
    // Bind-mounted namespaces (ip netns add) show up in mountinfo as net:[N].
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mounts, line)) {
        auto pos = line.find("net:[");
        uint64_t inode = 0;
        if (pos != std::string::npos && parse_net_link(line.substr(pos), inode)) out.insert(inode);
    }
    return out;
}

int veth_links_here() {
    nl_sock* sock = nl_socket_alloc();
    if (!sock) return -1;
    int count = -1;
    nl_cache* cache = nullptr;
    if (nl_connect(sock, NETLINK_ROUTE) == 0 &&
        rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache) == 0) {
        count = 0;
        for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
            const char* type = rtnl_link_get_type(reinterpret_cast<rtnl_link*>(o));
            if (type && std::string(type) == "veth") ++count;
        }
        nl_cache_free(cache);
    }
    nl_socket_free(sock);
    return count;
}

} // namespace copyscope::testsupport
