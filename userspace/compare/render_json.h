#pragma once
// The comparison as JSON ("schema": "copyscope-compare").
#include <nlohmann/json.hpp>

namespace copyscope {

struct Comparison;
struct MetricDelta;

nlohmann::json to_json(const Comparison& c);
// One metric of both sides, as run and trace comparisons write it.
nlohmann::json metric_json(const MetricDelta& m);

} // namespace copyscope
