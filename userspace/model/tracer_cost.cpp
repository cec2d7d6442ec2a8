#include "model/tracer_cost.h"

namespace copyscope {

uint64_t TracerCost::run_count() const {
    uint64_t n = 0;
    for (const ProgramCost& p : programs)
        n += p.run_count;
    return n;
}

uint64_t TracerCost::run_time_ns() const {
    uint64_t n = 0;
    for (const ProgramCost& p : programs)
        n += p.run_time_ns;
    return n;
}

CpuBasis cpu_basis(const TracerCost& cost, std::optional<double> busy_cpu_seconds) {
    if (busy_cpu_seconds && *busy_cpu_seconds > 0)
        return {*busy_cpu_seconds, "busy CPU time of the whole machine (/proc/stat)"};
    const std::string why = busy_cpu_seconds ? "busy CPU time below /proc/stat's resolution"
                                             : "system CPU time not measured";
    return {cost.seconds * cost.cpus,
            "wall time x " + std::to_string(cost.cpus) + " CPUs (" + why + ")"};
}

TracerCostShare tracer_cost_share(const TracerCost& cost, uint64_t bytes_sent,
                                  std::optional<double> busy_cpu_seconds) {
    TracerCostShare s;
    const double ns = double(cost.run_time_ns());
    if (bytes_sent > 0)
        s.ns_per_byte = ns / double(bytes_sent);
    else
        s.ns_per_byte = Unsupported{"no bytes were sent"};
    s.basis = cpu_basis(cost, busy_cpu_seconds);
    if (s.basis.cpu_seconds > 0)
        s.cpu_percent = 100.0 * ns / 1e9 / s.basis.cpu_seconds;
    else
        s.cpu_percent = Unsupported{"no CPU time to set it against"};
    return s;
}

} // namespace copyscope
