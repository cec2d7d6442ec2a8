#pragma once
// The comparison as a table for people.
#include <string>

namespace copyscope {

struct Comparison;

std::string render_table(const Comparison& c);

} // namespace copyscope
