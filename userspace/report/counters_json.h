#pragma once
// The perf counters of a cell as the report writes them, and read back:
// {
//   "events": ["cycles", ...],            selected, table order
//   "scopes": ["thread", "system"],
//   "pmus": [{"name": "cpu", "type": 4}], core PMUs; [] when none is visible (VM)
//   "hybrid": false,                      true: hardware events opened on each PMU and summed
//   "thread": {                           per-thread counters, summed per role
//     "sender":   {"threads": 1, "events": {<event>: <value>, ...}},
//     "receiver": {"threads": 1, "events": {...}}},
//   "system": {                           every online CPU, whole machine (softirq, kthreads)
//     "cpus": [0, 1], "events": {...},
//     "cpu_time": {"user_seconds": .., "system_seconds": .., "softirq_seconds": ..,
//                  "irq_seconds": .., "busy_seconds": .., "idle_seconds": ..}}, /proc/stat
//   "derived": {"thread": {<figure>: <number or {"unsupported": why}>}, "system": {...}},
//   "notes": ["..."],
//   "summary": "task-clock 0.85 CPU-s/GiB, 14306 cs/s, hw: unsupported (ENOENT)"
// }
// <value> is {"value": 1234.0, "unit": "count"|"ns", "kind": "hardware"|"cache"|"software",
//             "raw": 1234, "running_fraction": 1.0, "scaled": false}
//   (+ "pmus": [...] on hybrid, "incomplete": "..." when some instances never ran)
// or {"unsupported": "ENOENT (No such file or directory): ..."} -- never a 0 in disguise.
// A scope that could not be opened at all is {"unsupported": why} in place of its object.
#include <nlohmann/json.hpp>

#include "model/counters.h"
#include "report/json_read.h"

namespace copyscope {

nlohmann::json to_json(const CounterResult& counters);
CounterResult counters_from_json(const JsonIn& j);

} // namespace copyscope
