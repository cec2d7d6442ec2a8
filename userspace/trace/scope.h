#pragma once
// What `copyscope trace` follows, as the user named it and as it was found on this machine:
// COMMAND (run in a cgroup of its own: its sockets by their cgroup), existing processes
// (--pid: the sockets they use, and their children's), a cgroup v2 (--cgroup: the sockets
// created in it or below), a network namespace (--netns: every socket in it; with one of
// the others, both must hold). Every bad value is a UsageError, found before anything starts.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "workload/cgroup.h"
#include "workload/targets.h"

namespace copyscope {

struct TraceRequest {
    std::vector<std::string> command; // after --
    std::string pids;                 // --pid PID[,PID...]; empty: none
    std::string cgroup;               // --cgroup PATH; empty: none
    std::vector<std::string> netns;   // --netns PATH (repeatable)
};

enum class TraceWho { command, pids, cgroup, netns };
const char* to_string(TraceWho who);

struct TraceScope {
    TraceWho who = TraceWho::command;
    std::vector<std::string> command;
    std::vector<ProcessTarget> processes;
    // --cgroup, or COMMAND's own (set once it is made).
    std::optional<Cgroup> cgroup;
    std::vector<NetnsTarget> netns;
    std::optional<Cgroup2Mount> mount;

    // "COMMAND iperf3 and its children (cgroup /copyscope-trace-123)", ...
    std::string describe() const;
};

TraceScope resolve_scope(const TraceRequest& request);

} // namespace copyscope
