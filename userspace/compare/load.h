#pragma once
// Reading the two reports: the file, its JSON, and the report through the same typed model
// (report/) that wrote it. Every problem is a UsageError naming the file and, inside it, the
// field ("b.json: cells[3].ledger.copies_per_byte: expected a number, got string").
#include <string>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "report/trace_report.h"

namespace copyscope {

// Reads and parses `path`: a JSON document, or a UsageError naming the file.
nlohmann::json load_json(const std::string& path);

// Reads and parses `path`, then read_report().
Report load_report(const std::string& path);

// The typed report of a parsed document; `name` starts every error message.
Report read_report(const nlohmann::json& doc, const std::string& name);

// The same for a trace report (`copyscope trace -o`).
TraceReport read_trace_report(const nlohmann::json& doc, const std::string& name);

} // namespace copyscope
