#include "trace/scope.h"

#include <cstdlib>

#include "common/errors.h"
#include "workload/command.h"

namespace copyscope {

const char* to_string(TraceWho who) {
    switch (who) {
    case TraceWho::command:
        return "command";
    case TraceWho::pids:
        return "pid";
    case TraceWho::cgroup:
        return "cgroup";
    case TraceWho::netns:
        return "netns";
    }
    return "?";
}

namespace {

TraceWho who_of(const TraceRequest& r) {
    const int named = int(!r.command.empty()) + int(!r.pids.empty()) + int(!r.cgroup.empty());
    if (named > 1)
        throw UsageError("trace: give one of -- COMMAND, --pid and --cgroup (with --netns, "
                         "optionally, to narrow it to namespaces)");
    if (!r.command.empty()) return TraceWho::command;
    if (!r.pids.empty()) return TraceWho::pids;
    if (!r.cgroup.empty()) return TraceWho::cgroup;
    if (!r.netns.empty()) return TraceWho::netns;
    throw UsageError("trace: nothing to trace: give -- COMMAND [ARGS...], --pid PID, "
                     "--cgroup PATH or --netns PATH (see 'copyscope trace --help')");
}

} // namespace

TraceScope resolve_scope(const TraceRequest& r) {
    TraceScope s;
    s.who = who_of(r);
    for (const std::string& path : r.netns) {
        NetnsTarget t = resolve_netns(path);
        bool seen = false;
        for (const NetnsTarget& o : s.netns)
            seen = seen || o.inode == t.inode;
        if (!seen) s.netns.push_back(t);
    }
    switch (s.who) {
    case TraceWho::command:
        resolve_executable(r.command.front(), std::getenv("PATH")); // "COMMAND not found"
        s.command = r.command;
        s.mount = find_cgroup2_mount();
        break;
    case TraceWho::pids: {
        try {
            s.mount = find_cgroup2_mount();
        } catch (const UsageError&) {
            // --pid follows sockets by process: cgroup v2 is not needed.
        }
        for (pid_t pid : parse_pid_list(r.pids))
            s.processes.push_back(inspect_process(pid, s.mount));
        break;
    }
    case TraceWho::cgroup:
        s.mount = find_cgroup2_mount();
        s.cgroup = resolve_cgroup(r.cgroup, *s.mount);
        break;
    case TraceWho::netns:
        break;
    }
    return s;
}

std::string TraceScope::describe() const {
    std::string d;
    switch (who) {
    case TraceWho::command:
        d = "COMMAND " + command.front() + " and its children";
        if (cgroup) d += " (cgroup " + cgroup->path + ")";
        break;
    case TraceWho::pids:
        d = "processes";
        for (const ProcessTarget& p : processes)
            d += " " + std::to_string(p.pid) + " (" + p.comm + ")";
        d += " and their children, by the sockets they use";
        break;
    case TraceWho::cgroup:
        d = "cgroup " + cgroup->path + " and below, by the sockets created there";
        break;
    case TraceWho::netns:
        d = "every TCP and UDP socket";
        break;
    }
    if (!netns.empty()) {
        d += who == TraceWho::netns ? " of network namespace" : ", in network namespace";
        for (size_t i = 0; i < netns.size(); ++i)
            d += (i ? ", " : " ") + netns[i].path + " (" + std::to_string(netns[i].inode) + ")";
    }
    return d;
}

} // namespace copyscope
