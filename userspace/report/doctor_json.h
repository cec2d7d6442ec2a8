#pragma once
// `copyscope doctor --json`: the tracer's and the counters' views of this machine.
#include <nlohmann/json.hpp>

#include "counters/doctor.h"
#include "tracer/doctor.h"

namespace copyscope {

nlohmann::json to_json(const TracerDoctor& doctor);
nlohmann::json to_json(const CounterDoctor& doctor);

} // namespace copyscope
