#pragma once
// Where each connection's threads run. On a machine with few CPUs the scheduler moves the
// sender, the receiver and the softirq work they cause between CPUs from one repetition to
// the next, and throughput moves with them; pinning each thread makes repetitions alike.
#include <optional>
#include <string_view>
#include <vector>

#include "model/cell.h"

namespace copyscope {

enum class CpuPlacement {
    none,  // the scheduler decides
    split, // senders on the first half of the CPUs, receivers on the other half
    pair,  // a connection's sender and receiver on one CPU, connections spread over CPUs
    auto_, // chosen per cell (see resolve_placement)
};

std::string_view to_string(CpuPlacement p);
std::optional<CpuPlacement> cpu_placement_from_string(std::string_view name);
inline constexpr std::string_view kCpuPlacementNames = "auto, none, split, pair";

// What `auto` means for a cell on this many CPUs; other placements stay as they are.
CpuPlacement resolve_placement(CpuPlacement p, const CellSpec& spec, size_t cpus);

// The CPUs this process may run on (its affinity mask), in ascending order.
std::vector<int> allowed_cpus();

// The CPU for one thread of connection `index`, or nullopt to leave it to the scheduler.
// `p` must be resolved (not auto_).
std::optional<int> cpu_for(CpuPlacement p, Role role, unsigned index, const std::vector<int>& cpus);

// Pins the calling thread to `cpu`; throws RunError when the kernel refuses.
void pin_current_thread(int cpu);

// A resolved placement and the CPUs it places on: what each thread applies to itself.
struct ThreadPlacement {
    CpuPlacement how = CpuPlacement::none;
    std::vector<int> cpus;
    // Pins the calling thread, sender or receiver of connection `index`, if `how` says so.
    void apply(Role role, unsigned index) const {
        if (auto cpu = cpu_for(how, role, index, cpus)) pin_current_thread(*cpu);
    }
};

} // namespace copyscope
