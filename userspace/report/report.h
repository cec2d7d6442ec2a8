#pragma once
// The run report: one JSON document per run, written atomically, and read back through the
// same typed model (model/cell.h) it was written from.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cell.h"
#include "report/json_read.h"

namespace copyscope {

inline constexpr const char* report_schema = "copyscope-report";
inline constexpr int report_schema_version = 1;

struct HostInfo {
    std::string kernel_release;
    std::string cpu_model;
    unsigned cores = 0;
    bool btf_present = false;
    std::string lockdown; // "none", "integrity", "confidentiality", or "unknown"

    bool operator==(const HostInfo&) const = default;
};

HostInfo probe_host();

struct Report {
    std::string tool_version = COPYSCOPE_VERSION; // of the copyscope that wrote it
    HostInfo host;
    std::vector<std::string> command_line;
    std::string started_at; // ISO 8601, UTC
    bool complete = true;   // false when the run was interrupted
    std::string interrupted_reason;
    nlohmann::json extra = nlohmann::json::object(); // sections added by other parts (preset...)
    std::vector<CellResult> cells;
};

nlohmann::json to_json(const HostInfo& host);
nlohmann::json to_json(const CellResult& cell);
nlohmann::json to_json(const Report& report);

// Reads a report back. Throws UsageError naming what is wrong and where: not a copyscope
// report, a schema_version newer than this copyscope reads, a field of the wrong type.
// Fields a report may lack (older versions, or trimmed by hand) read as absent or
// unsupported (not_in_report); what the report derives from others (throughput, per-message
// figures, passed) is derived again from what it holds.
Report report_from_json(const nlohmann::json& j);
HostInfo host_from_json(const JsonIn& j);
CellResult cell_from_json(const JsonIn& j);

// Writes to a temporary file beside `path`, then renames: a killed run never leaves a
// half-written report. Throws RunError.
void write_file_atomically(const std::string& path, const std::string& contents);

// Throws UsageError when a report could not be written to `path` (missing directory,
// no permission, a directory in the way), before anything is started.
void check_output_path(const std::string& path);

std::string utc_now_iso8601();

} // namespace copyscope
