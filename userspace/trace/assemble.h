#pragma once
// The per-socket table's records as the trace's ledger: one ConnectionLedger per socket
// (figures from ledger/connection.h, its cgroup by name, a verdict that names the peer when
// it is traced too), grouped by process, with the totals per process and for the scope.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ledger/connection.h"
#include "model/trace.h"
#include "trace/socket_table.h"

namespace copyscope {

struct TraceLedger {
    std::vector<ProcessLedger> processes; // by pid; connections by protocol and local port
    TraceFigures totals;
};

// `cgroup_name` gives a cgroup id's path ("/copyscope-trace-12", "/"); records that counted
// nothing at all are left out.
TraceLedger assemble(const std::vector<SocketRecord>& records, const std::vector<HookUse>& hooks,
                     const TraceKernel& kernel,
                     const std::function<std::string(uint64_t)>& cgroup_name);

// cgroup v2 ids to paths relative to the hierarchy's root, found by walking the mount
// (below `first` first); "id:N" for one that is gone.
class CgroupNames {
  public:
    CgroupNames(std::string mount_point, std::string first_dir);
    std::string operator()(uint64_t id);

  private:
    bool walk(const std::string& dir, uint64_t id, int depth);
    std::string mount_point_, first_dir_;
    std::vector<std::pair<uint64_t, std::string>> known_;
    size_t visited_ = 0;
};

} // namespace copyscope
