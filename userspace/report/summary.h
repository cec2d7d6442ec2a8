#pragma once
// The human-readable summary of a run: one row per cell.
#include <string>
#include <vector>

#include "report/cell.h"

namespace copyscope {

// Formats bytes as 64, 4KiB, 1MiB... (exact binary units when they divide, else bytes).
std::string format_size(uint64_t bytes);

std::string summary_table(const std::vector<CellResult>& cells);

} // namespace copyscope
