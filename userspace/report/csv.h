#pragma once
// The report as CSV: one row per cell, built from the cell's JSON so the two can never
// disagree. Column names carry their units; a figure the kernel could not give is written
// as "unsupported", a figure that does not apply is left empty.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace copyscope {

struct CsvColumn {
    std::string name;    // e.g. "throughput_mean_gbit_per_s"
    std::string pointer; // JSON pointer into the cell, e.g. "/throughput/mean"
};

const std::vector<CsvColumn>& csv_columns();

// The CSV text of the report's cells (header line first).
std::string cells_to_csv(const nlohmann::json& cells);

// One value as CSV text: numbers as numbers, {"unsupported": ...} as "unsupported",
// strings quoted when needed, null or missing as empty.
std::string csv_value(const nlohmann::json& cell, const std::string& pointer);

} // namespace copyscope
