#include "trace/assemble.h"

#include <algorithm>
#include <dirent.h>
#include <map>
#include <sys/stat.h>

namespace copyscope {
namespace {

bool counted_nothing(const SocketRecord& r) {
    if (!(r.own == KernelCounts{})) return false;
    for (const auto& [netns, k] : r.elsewhere)
        if (!(k == KernelCounts{})) return false;
    return true;
}

ConnectionLedger connection_of(const SocketRecord& r, const std::vector<HookUse>& hooks,
                               const TraceKernel& kernel,
                               const std::function<std::string(uint64_t)>& cgroup_name) {
    SocketCounts counts;
    counts.protocol = r.protocol;
    counts.netns = r.netns;
    counts.own = r.own;
    for (const auto& [netns, k] : r.elsewhere)
        counts.elsewhere.push_back({netns, k});
    ConnectionLedger c;
    c.protocol = r.protocol;
    c.local = r.local;
    c.remote = r.remote;
    c.netns = r.netns;
    c.cgroup = r.cgroup_id ? cgroup_name(r.cgroup_id) : "";
    c.closed = r.closed;
    c.ledger = connection_figures(hooks, counts, kernel);
    return c;
}

struct Placed {
    ConnectionLedger connection;
    uint32_t pid;
    std::string comm;
};

// A namespace where the copies happened is the peer's when a traced socket lives there.
void name_roles(std::vector<Placed>& all) {
    for (Placed& p : all)
        for (DeferredAt& d : p.connection.ledger.deferred_by_namespace) {
            if (d.own) continue;
            const bool traced_there = std::any_of(all.begin(), all.end(), [&](const Placed& o) {
                return o.connection.netns == d.netns;
            });
            d.role = traced_there ? "peer" : "other";
        }
}

const Placed* peer_of(const std::vector<Placed>& all, const ConnectionLedger& c) {
    if (c.remote.port == 0) return nullptr;
    for (const Placed& o : all)
        if (o.connection.protocol == c.protocol && o.connection.local == c.remote &&
            o.connection.remote == c.local)
            return &o;
    return nullptr;
}

} // namespace

TraceLedger assemble(const std::vector<SocketRecord>& records, const std::vector<HookUse>& hooks,
                     const TraceKernel& kernel,
                     const std::function<std::string(uint64_t)>& cgroup_name) {
    std::vector<Placed> all;
    for (const SocketRecord& r : records)
        if (!counted_nothing(r))
            all.push_back({connection_of(r, hooks, kernel, cgroup_name), r.tgid, r.comm});
    name_roles(all);
    for (Placed& p : all) {
        const Placed* peer = peer_of(all, p.connection);
        p.connection.verdict =
            connection_verdict(p.connection, peer ? &peer->connection : nullptr,
                               peer ? peer->comm + " pid " + std::to_string(peer->pid) : "");
    }
    std::map<std::pair<uint32_t, std::string>, ProcessLedger> by_process;
    for (Placed& p : all) {
        ProcessLedger& pl = by_process[{p.pid, p.comm}];
        pl.pid = p.pid;
        pl.comm = p.comm;
        pl.connections.push_back(std::move(p.connection));
    }
    TraceLedger out;
    std::vector<const TraceFigures*> every;
    for (auto& [key, pl] : by_process) {
        std::sort(pl.connections.begin(), pl.connections.end(),
                  [](const ConnectionLedger& a, const ConnectionLedger& b) {
                      return std::tie(a.protocol, a.local.port, a.remote.port) <
                             std::tie(b.protocol, b.local.port, b.remote.port);
                  });
        std::vector<const TraceFigures*> parts;
        for (const ConnectionLedger& c : pl.connections)
            parts.push_back(&c.ledger);
        pl.totals = sum_figures(parts);
        out.processes.push_back(std::move(pl));
    }
    for (const ProcessLedger& pl : out.processes)
        for (const ConnectionLedger& c : pl.connections)
            every.push_back(&c.ledger);
    // Nothing counted: the scope's ledger is empty, each figure as its hook would count it.
    out.totals =
        every.empty() ? connection_figures(hooks, SocketCounts{}, kernel) : sum_figures(every);
    return out;
}

CgroupNames::CgroupNames(std::string mount_point, std::string first_dir)
    : mount_point_(std::move(mount_point)), first_dir_(std::move(first_dir)) {}

std::string CgroupNames::operator()(uint64_t id) {
    for (const auto& [known, path] : known_)
        if (known == id) return path;
    visited_ = 0;
    const bool found = (!first_dir_.empty() && walk(first_dir_, id, 0)) ||
                       (!mount_point_.empty() && walk(mount_point_, id, 0));
    if (!found) known_.push_back({id, "id:" + std::to_string(id)});
    return known_.back().second;
}

// Depth-first, bounded: a cgroup tree of tens of thousands of directories is not walked whole.
bool CgroupNames::walk(const std::string& dir, uint64_t id, int depth) {
    if (depth > 32 || ++visited_ > 20000) return false;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return false;
    if (uint64_t(st.st_ino) == id) {
        std::string rel = dir.substr(mount_point_.size());
        known_.push_back({id, rel.empty() ? "/" : rel});
        return true;
    }
    DIR* d = ::opendir(dir.c_str());
    if (!d) return false;
    bool found = false;
    while (dirent* e = ::readdir(d)) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
        if (walk(dir + "/" + e->d_name, id, depth + 1)) {
            found = true;
            break;
        }
    }
    ::closedir(d);
    return found;
}

} // namespace copyscope
