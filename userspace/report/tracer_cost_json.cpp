#include "report/tracer_cost_json.h"

#include "report/measured_json.h"

namespace copyscope {

using nlohmann::json;

json tracer_cost_json(const Measured<TracerCost>& cost, const TracerCostShare& share,
                      std::string_view window) {
    if (!cost) return unsupported_json(cost.reason());
    json programs = json::array();
    for (const ProgramCost& p : cost->programs)
        programs.push_back(
            {{"name", p.name},
             {"run_count", p.run_count},
             {"run_time_ns", p.run_time_ns},
             {"ns_per_run",
              p.run_count ? json(double(p.run_time_ns) / double(p.run_count)) : json(nullptr)}});
    return {{"source", "kernel BPF run-time statistics (BPF_ENABLE_STATS), on " +
                           std::string(window) + "; they add two clock reads to every program run"},
            {"bound", "upper: a program is billed for the interrupts taken while it runs"},
            {"seconds", cost->seconds},
            {"cpus", cost->cpus},
            {"programs", programs},
            {"run_count", cost->run_count()},
            {"run_time_ns", cost->run_time_ns()},
            {"ns_per_byte", measured_json(share.ns_per_byte)},
            {"cpu_seconds", share.basis.cpu_seconds},
            {"cpu_basis", share.basis.source},
            {"cpu_percent", measured_json(share.cpu_percent)}};
}

json tracer_cost_json(const CellResult& cell) {
    return tracer_cost_json(*cell.tracer_cost, *cell.tracer_cost_share(), "for the cell only");
}

Measured<TracerCost> tracer_cost_from_json(const JsonIn& j) {
    if (auto why = j.unsupported()) return Unsupported{*why};
    TracerCost cost;
    cost.seconds = j.get_or("seconds", 0.0);
    cost.cpus = j.get_or<unsigned>("cpus", 0);
    if (auto programs = j.find("programs"))
        for (const JsonIn& p : programs->elements())
            cost.programs.push_back({p.get<std::string>("name"), p.get_or<uint64_t>("run_count", 0),
                                     p.get_or<uint64_t>("run_time_ns", 0)});
    return cost;
}

} // namespace copyscope
