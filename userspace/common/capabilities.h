#pragma once
// Which Linux capabilities the process holds, read with capget(2) (no libcap).
#include <cstdint>
#include <string>
#include <vector>

namespace copyscope {

struct CapabilitySet {
    uint64_t effective = 0;
    bool has(int cap) const { return cap >= 0 && cap < 64 && (effective >> cap) & 1; }
};

CapabilitySet current_capabilities();

// Names of the capabilities a lab run needs that `caps` lacks (empty: all present).
// A run creates network namespaces and veth (CAP_SYS_ADMIN, CAP_NET_ADMIN) and loads BPF
// programs and opens perf events (CAP_BPF, CAP_PERFMON, or CAP_SYS_ADMIN on older kernels).
std::vector<std::string> missing_run_capabilities(const CapabilitySet& caps);

} // namespace copyscope
