#pragma once
// The metrics compare sets side by side, as a table: each with its group, key, label, unit,
// direction of "better", whether it carries a confidence interval, and how it is taken from
// a typed cell. The ledger's byte figures and the counters' derived figures come from the
// model's own tables (byte_figures, derived_figures), so a figure added there shows here.
#include <functional>
#include <string>
#include <vector>

#include "compare/delta.h"
#include "model/cell.h"

namespace copyscope {

struct MetricDef {
    std::string group; // throughput, latency, ledger, zerocopy, counters, tracer
    std::string name;  // stable key in the comparison's JSON
    std::string label;
    std::string unit;
    Direction direction = Direction::informational;
    bool has_ci = false; // a 95% interval when the cell repeated
    std::function<Figure(const CellResult&)> extract;
    // Shown only for cells where either side has what it describes (rr latency, MSG_ZEROCOPY
    // notifications); empty: every cell.
    std::function<bool(const CellResult&)> applies;
};

const std::vector<MetricDef>& metric_table();

// A measured figure as one side's Figure: its number, or unsupported with the reason; what
// the report did not hold (not_in_report) is absent, with `absent_why`.
Figure figure_of(const Measured<double>& m, const std::string& absent_why);
Figure figure_of(const Measured<uint64_t>& m, const std::string& absent_why);

// A ledger byte figure's label and direction: "kernel send copy /B" from
// "kernel_send_copy_bytes", a count per MiB sent ("pinned pages /MiB"); copies are lower is
// better, figures that describe the path (pinned bytes, retransmits, new ones) are shown only.
std::string byte_figure_label(std::string_view key);
Direction byte_figure_direction(std::string_view key);

} // namespace copyscope
