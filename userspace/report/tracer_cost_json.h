#pragma once
// The tracer's own cost in a cell as the report writes it ("tracer_cost"), and read back:
// {
//   "source": "kernel BPF run-time statistics (BPF_ENABLE_STATS) ...",
//   "bound": "upper: ...",                       interrupts during a program are billed to it
//   "seconds": 1.21, "cpus": 2,                  the window the statistics cover
//   "programs": [{"name": "cs_recv", "run_count": 1234, "run_time_ns": 56789,
//                 "ns_per_run": 46.0}, ...],     every loaded program
//   "run_count": .., "run_time_ns": ..,          over all programs
//   "ns_per_byte": 0.012,                        run time / bytes the application sent
//   "cpu_seconds": 2.3, "cpu_basis": "busy CPU time of the whole machine (/proc/stat)",
//   "cpu_percent": 1.1                           run time / cpu_seconds
// }
// or {"unsupported": "why"} (the kernel refused the statistics, the tracer did not load).
// The totals and shares are derived: read back, they are derived again.
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/cell.h"
#include "report/json_read.h"

namespace copyscope {

// A cost with its share, the statistics having been on for `window` ("for the cell only",
// "while tracing"). `copyscope run`'s cells and `copyscope trace`'s report both write this.
nlohmann::json tracer_cost_json(const Measured<TracerCost>& cost, const TracerCostShare& share,
                                std::string_view window);
// The cell's "tracer_cost"; the cell must have one.
nlohmann::json tracer_cost_json(const CellResult& cell);
Measured<TracerCost> tracer_cost_from_json(const JsonIn& j);

} // namespace copyscope
