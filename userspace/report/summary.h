#pragma once
// The human-readable summary of a run: one row per cell.
#include <string>
#include <vector>

#include "common/format.h" // format_size, used by the progress lines too
#include "model/cell.h"

namespace copyscope {

std::string summary_table(const std::vector<CellResult>& cells);

} // namespace copyscope
