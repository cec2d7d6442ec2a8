#pragma once
// The trace report (`copyscope trace -o FILE`): one JSON document, "schema":
// "copyscope-trace", written atomically and read back through the same typed values.
//
//   host, command_line, hooks (the form each hook took, as in a run's ledger), tracer
//   (missed events, the per-socket table, the programs' own cost), scope, started_at,
//   ended_at, duration_seconds, end {reason, detail, exit_status}, processes [{pid, comm,
//   connections [{protocol, local, remote, netns, cgroup, state, ledger, verdict}], totals}],
//   totals (the scope's), untracked (what did not fit the table).
//
// A ledger: bytes_sent, the byte figures of a cell's ledger (kernel_send_copy_bytes, ...),
// sent_by_reference_bytes, unclassified_send_bytes, zerocopy_receive_mapped_bytes,
// deferred_copy_retransmit_bytes, deferred_by_namespace, completions, send_copies_per_byte,
// evidence (each figure: exact, inferred or unsupported), raw (the kernel's counts).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/hook.h"
#include "model/trace.h"
#include "model/tracer_cost.h"
#include "report/json_read.h"
#include "report/report.h"

namespace copyscope {

inline constexpr const char* trace_report_schema = "copyscope-trace";
inline constexpr int trace_report_schema_version = 1;

enum class TraceEnd { command_exited, duration, signal, processes_exited };
std::string_view to_string(TraceEnd e);
std::optional<TraceEnd> trace_end_from_string(std::string_view text);

struct TraceScopeInfo {
    std::string who; // command, pid, cgroup, netns
    std::vector<std::string> command;
    std::vector<std::pair<uint32_t, std::string>> processes; // --pid: pid, comm
    std::string cgroup;                                      // as /proc/PID/cgroup shows it
    uint64_t cgroup_id = 0;
    std::vector<std::pair<std::string, uint64_t>> netns; // path, inode
    std::string description;

    bool operator==(const TraceScopeInfo&) const = default;
};

struct TraceReport {
    std::string tool_version = COPYSCOPE_VERSION;
    HostInfo host;
    std::vector<std::string> command_line;
    std::optional<HookMode> hook_mode;
    std::vector<HookUse> hooks;
    std::string tracer_note; // e.g. the preferred forms failed to load; empty: none
    uint64_t missed_events = 0;
    Measured<TracerCost> tracer_cost;
    TraceScopeInfo scope;
    std::string started_at, ended_at; // ISO 8601, UTC
    double duration_seconds = 0;
    TraceEnd end = TraceEnd::command_exited;
    std::string end_detail;
    std::optional<int> exit_status; // COMMAND's, when it exited
    std::vector<ProcessLedger> processes;
    TraceFigures totals;
    Untracked untracked;
    uint64_t reaped_sockets = 0; // closed sockets taken out of the kernel's table meanwhile

    bool operator==(const TraceReport&) const = default;
};

nlohmann::json to_json(const TraceFigures& f);
nlohmann::json to_json(const TraceReport& r);

// Reads a trace report back; UsageError naming what is wrong and where.
TraceReport trace_report_from_json(const nlohmann::json& j);
TraceFigures trace_figures_from_json(const JsonIn& j);

// The "schema" of a parsed report document: "copyscope-report", "copyscope-trace", or "".
std::string report_schema_of(const nlohmann::json& j);

} // namespace copyscope
