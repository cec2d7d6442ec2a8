#pragma once
// `copyscope compare A.json B.json`: two reports side by side. A is the baseline, B the
// candidate. Both are read through the typed model the reports are written from; cells are
// matched by their parameters; each matched cell shows the metrics of metric_table()
// (throughput, the copy ledger as ratios of the bytes the application sent so that runs of
// different lengths compare, the perf counters' derived figures, the tracer's own cost), the
// hook mechanisms and the verdict, with the change in percent. A metric "regressed" when it
// moved in its bad direction by more than the threshold; the exit status says whether any
// did (for CI).
//
// Everything below run_compare is pure (typed reports in, values out) so unit tests drive it.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "compare/delta.h"
#include "compare/load.h"
#include "compare/match.h"
#include "compare/metrics.h"
#include "compare/render_json.h"
#include "compare/render_text.h"

namespace copyscope {

struct CompareOptions {
    std::string baseline_path, candidate_path;
    double threshold_percent = 5.0;
    bool json = false;
};

// Loads both, matches cells, prints the table (or JSON) to `out`; warnings to `err`.
// Returns 0 when no metric regressed beyond the threshold, 1 when one did. Throws
// UsageError (exit 2) naming the file and what is wrong for unreadable, malformed or
// incompatible reports, and for a negative or non-finite threshold.
int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err);

// One hook on both sides: nullopt where that side has no such hook (not traced, or a
// kernel or version without it).
struct HookDelta {
    std::string hook;
    std::optional<Measured<HookChoice>> a, b;
    bool differs = false;
};

struct CellComparison {
    CellKey key;
    bool passed_a = true, passed_b = true;
    std::vector<std::string> failed_checks_a, failed_checks_b;
    std::string error_a, error_b;                  // the cell's error; empty: none
    uint64_t repetitions_a = 0, repetitions_b = 0; // 0: the report does not say
    std::vector<MetricDelta> metrics;
    std::vector<HookDelta> hooks;
    std::optional<std::string> verdict_a, verdict_b; // zero-copy cells that were traced
    bool verdict_differs = false;                    // both traced and the verdicts differ
    bool checks_regressed = false;                   // passed in A, failed in B
};

CellComparison compare_cells(const CellResult& a, const CellResult& b, double threshold_percent);

struct ReportSummary {
    std::string path;
    std::string kernel_release, cpu_model, started_at, tool_version;
    bool complete = true;
    std::string interrupted;
    size_t cells = 0;
};

struct Comparison {
    ReportSummary baseline, candidate;
    double threshold_percent = 5.0;
    std::vector<CellComparison> cells;
    std::vector<CellKey> only_baseline, only_candidate;
    // One line per regression: "<cell>: <metric> <a> -> <b> (<change>)".
    std::vector<std::string> regressions() const;
    bool regressed() const { return !regressions().empty(); }
};

// Throws UsageError on a bad threshold.
Comparison compare_reports(const Report& baseline, const Report& candidate,
                           double threshold_percent, const std::string& baseline_path = "A",
                           const std::string& candidate_path = "B");

} // namespace copyscope
