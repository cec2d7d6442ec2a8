#pragma once
// Reading the two reports: the file, its JSON, and the report through the same typed model
// (report/) that wrote it. Every problem is a UsageError naming the file and, inside it, the
// field ("b.json: cells[3].ledger.copies_per_byte: expected a number, got string").
#include <string>

#include <nlohmann/json.hpp>

#include "report/report.h"

namespace copyscope {

// Reads and parses `path`, then read_report().
Report load_report(const std::string& path);

// The typed report of a parsed document; `name` starts every error message.
Report read_report(const nlohmann::json& doc, const std::string& name);

} // namespace copyscope
