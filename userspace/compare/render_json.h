#pragma once
// The comparison as JSON ("schema": "copyscope-compare").
#include <nlohmann/json.hpp>

namespace copyscope {

struct Comparison;

nlohmann::json to_json(const Comparison& c);

} // namespace copyscope
