#pragma once
// Core PMUs from sysfs. A plain CPU exposes one ("cpu"); a hybrid CPU exposes one per core
// type ("cpu_core", "cpu_atom"), each with a "cpus" file naming its CPUs; a VM may expose
// none. Hardware events are opened once per core PMU and summed.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace copyscope {

struct CorePmu {
    std::string name;      // "cpu", "cpu_core", "cpu_atom", "armv8_pmuv3_0"
    uint32_t type = 0;     // from <dir>/type
    std::vector<int> cpus; // from <dir>/cpus; empty: every CPU
};

struct PmuTopology {
    std::vector<CorePmu> core; // empty: no core PMU visible
    // True when several core PMUs exist: hardware events then carry the PMU type in config
    // bits 32-63 (the kernel's extended hardware type, PERF_PMU_TYPE_SHIFT).
    bool hybrid() const { return core.size() > 1; }
};

// Reads <sysfs_root>/bus/event_source/devices. sysfs_root is "/sys" except in tests.
PmuTopology discover_pmus(const std::filesystem::path& sysfs_root = "/sys");

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; malformed parts are skipped.
std::vector<int> parse_cpu_list(const std::string& text);

// CPUs online now (<sysfs_root>/devices/system/cpu/online).
std::vector<int> online_cpus(const std::filesystem::path& sysfs_root = "/sys");

// The perf config of a hardware/cache event for one PMU: the extended type only on
// hybrid systems, where the kernel needs it to pick the PMU.
uint64_t pmu_config(uint64_t config, const CorePmu* pmu, bool hybrid);

} // namespace copyscope
