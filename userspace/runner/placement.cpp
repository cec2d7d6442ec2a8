#include "runner/placement.h"

#include <cerrno>
#include <sched.h>

#include "common/errors.h"

namespace copyscope {

std::string_view to_string(CpuPlacement p) {
    switch (p) {
    case CpuPlacement::none:
        return "none";
    case CpuPlacement::split:
        return "split";
    case CpuPlacement::pair:
        return "pair";
    case CpuPlacement::auto_:
        return "auto";
    }
    return "?";
}

std::optional<CpuPlacement> cpu_placement_from_string(std::string_view name) {
    for (CpuPlacement p :
         {CpuPlacement::none, CpuPlacement::split, CpuPlacement::pair, CpuPlacement::auto_})
        if (name == to_string(p)) return p;
    return std::nullopt;
}

CpuPlacement resolve_placement(CpuPlacement p, const CellSpec& /*spec*/, size_t cpus) {
    if (p != CpuPlacement::auto_) return p;
    if (cpus < 2) return CpuPlacement::none;
    return CpuPlacement::pair;
}

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

std::optional<int> cpu_for(CpuPlacement p, Role role, unsigned index,
                           const std::vector<int>& cpus) {
    if (cpus.empty() || p == CpuPlacement::none || p == CpuPlacement::auto_) return std::nullopt;
    if (p == CpuPlacement::pair) return cpus[index % cpus.size()];
    // split: the first half sends, the second half receives (one CPU: both on it).
    const size_t half = std::max<size_t>(cpus.size() / 2, 1);
    if (role == Role::sender) return cpus[index % half];
    const size_t receivers = cpus.size() - half;
    return receivers == 0 ? cpus[0] : cpus[half + index % receivers];
}

void pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0)
        throw RunError(errno_message("sched_setaffinity(CPU " + std::to_string(cpu) + ")", errno));
}

} // namespace copyscope
