#pragma once
// What the tracer's own BPF programs cost during one cell, from the kernel's run-time
// statistics (BPF_ENABLE_STATS with BPF_STATS_RUN_TIME, held only while a cell runs): per
// program its runs and nanoseconds, and from them the cost per byte sent and as a share of
// the cell's CPU time. The statistics add two clock reads to every program run, so the
// figures include that much of their own measuring.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/measured.h"

namespace copyscope {

struct ProgramCost {
    std::string name;         // the BPF program (its function name in bpf/copyscope.bpf.c)
    uint64_t run_count = 0;   // runs during the cell
    uint64_t run_time_ns = 0; // nanoseconds spent in those runs

    bool operator==(const ProgramCost&) const = default;
};

struct TracerCost {
    std::vector<ProgramCost> programs; // every loaded program, in the object's order
    double seconds = 0;                // wall time over which the statistics were taken
    unsigned cpus = 0;                 // online CPUs then

    uint64_t run_count() const;
    uint64_t run_time_ns() const;

    bool operator==(const TracerCost&) const = default;
};

// The CPU time a cost is set against, and where it came from.
struct CpuBasis {
    double cpu_seconds = 0;
    std::string source; // in words: the system's busy time, or wall time x CPUs

    bool operator==(const CpuBasis&) const = default;
};

// The derived figures: nanoseconds per byte the application sent, and the percentage of
// the basis's CPU time.
struct TracerCostShare {
    Measured<double> ns_per_byte;
    Measured<double> cpu_percent;
    CpuBasis basis;

    bool operator==(const TracerCostShare&) const = default;
};

// The basis: the machine's busy CPU seconds during the cell when the counters measured them
// (nullopt otherwise, or 0: below /proc/stat's resolution), else the cost's wall time x CPUs.
CpuBasis cpu_basis(const TracerCost& cost, std::optional<double> busy_cpu_seconds);

TracerCostShare tracer_cost_share(const TracerCost& cost, uint64_t bytes_sent,
                                  std::optional<double> busy_cpu_seconds);

} // namespace copyscope
