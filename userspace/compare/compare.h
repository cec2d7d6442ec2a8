#pragma once
// `copyscope compare A.json B.json`: two reports side by side. A is the baseline, B the
// candidate. Cells are matched by their parameters; each matched cell shows throughput,
// the copy ledger (bytes as ratios of the bytes the application sent, so runs of different
// lengths compare), the perf counters' derived figures, the hook mechanisms and the
// verdict, with the change in percent. A metric "regressed" when it moved in its bad
// direction by more than the threshold; the exit status says whether any did (for CI).
//
// Everything below run_compare is pure (JSON in, values out) so unit tests drive it.
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

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

// ---- loading and validation ---------------------------------------------------------------

// The newest report schema_version this code knows how to read. Deliberately not the
// writer's constant: a newer writer does not make this reader understand the new format.
inline constexpr int compare_max_schema_version = 1;

// Reads and parses `path`, then validate_report(). Throws UsageError "<path>: <problem>".
nlohmann::json load_report(const std::string& path);

// Checks what compare relies on: the schema name and version, cells an array of objects,
// each with its key fields of the right types. `name` prefixes the messages.
void validate_report(const nlohmann::json& doc, const std::string& name);

// ---- matching -----------------------------------------------------------------------------

struct CellKey {
    std::string strategy;
    std::string transport;
    uint64_t message_size = 0;
    uint64_t threads = 0;
    std::string pattern = "stream"; // absent in older reports: they only streamed
    std::string protocol = "tcp";   // absent in older reports: tcp, received by copy
    std::string receive = "copy";
    uint64_t udp_gso = 0;
    auto operator<=>(const CellKey&) const = default;
};

CellKey cell_key(const nlohmann::json& cell); // the cell must have passed validate_report
std::string describe(const CellKey& key);     // "zero-copy veth 64KiB x1" (+ " rr")
nlohmann::json to_json(const CellKey& key);

struct CellPair {
    CellKey key;
    const nlohmann::json* baseline = nullptr;
    const nlohmann::json* candidate = nullptr;
};

struct CellMatching {
    std::vector<CellPair> matched;      // in the baseline's order
    std::vector<CellKey> only_baseline; // in each report's own order
    std::vector<CellKey> only_candidate;
};

// The n-th cell with a given key in A pairs with the n-th in B (a plan may repeat a cell).
CellMatching match_cells(const nlohmann::json& baseline, const nlohmann::json& candidate);

// ---- figures, deltas, thresholds ----------------------------------------------------------

enum class Direction { higher_is_better, lower_is_better, informational };
std::string_view to_string(Direction d); // "higher", "lower", "none"

// One side's value of a metric: a number, {"unsupported": why}, or not there at all
// (section missing, not traced, not measured). Only two numbers are ever compared.
struct Figure {
    enum class Kind { number, unsupported, absent };
    Kind kind = Kind::absent;
    double value = 0;
    std::string why; // unsupported or absent: the reason, in words

    static Figure number_of(double v) { return {Kind::number, v, {}}; }
    static Figure unsupported_because(std::string why) {
        return {Kind::unsupported, 0, std::move(why)};
    }
    static Figure absent_because(std::string why) { return {Kind::absent, 0, std::move(why)}; }
    bool is_number() const { return kind == Kind::number; }
};

// Reads parent[key]: number -> number; {"unsupported": why} -> unsupported; missing or
// null -> absent(absent_why); anything else throws UsageError naming `where`.key.
Figure read_figure(const nlohmann::json& parent, const std::string& key, const std::string& where,
                   const std::string& absent_why);

// (b - a) / |a| in percent; nullopt when a is 0 (no finite change from nothing).
std::optional<double> change_percent(double a, double b);

enum class Movement { unchanged, regressed, improved, not_comparable };
std::string_view to_string(Movement m);

// regressed/improved when both are numbers and b moved in the bad/good direction by more
// than threshold_percent of a (strictly); a move away from 0 counts as beyond any threshold.
// Informational metrics are always unchanged; a missing or unsupported side is
// not_comparable, never read as 0.
Movement judge(Direction d, const Figure& a, const Figure& b, double threshold_percent);

struct MetricDelta {
    std::string group; // throughput, latency, ledger, zerocopy, counters
    std::string name;  // stable key, e.g. "copies_per_byte", "thread.cpu_seconds_per_gib"
    std::string label; // for the table, e.g. "copies per byte"
    std::string unit;
    Direction direction = Direction::informational;
    Figure a, b;
    std::optional<double> change; // percent
    Movement movement = Movement::unchanged;
    std::optional<std::pair<double, double>> ci_a, ci_b; // throughput 95% CIs when repeated
    std::string note;
};

struct HookDelta {
    std::string hook;
    nlohmann::json a, b; // {mechanism, count, targets}, {unsupported}, or null (not there)
    bool differs = false;
};

struct CellComparison {
    CellKey key;
    nlohmann::json passed_a, passed_b; // bool, or null when the report does not say
    std::vector<std::string> failed_checks_a, failed_checks_b;
    nlohmann::json error_a, error_b;               // the cell's error string or null
    uint64_t repetitions_a = 0, repetitions_b = 0; // 0: not stated
    std::vector<MetricDelta> metrics;
    std::vector<HookDelta> hooks;
    nlohmann::json verdict_a, verdict_b; // string or null (not a zero-copy cell, not traced)
    bool verdict_differs = false;        // both traced and the verdicts differ
    bool checks_regressed = false;       // passed in A, failed in B
};

// `where_a`/`where_b` name the cells in error messages ("a.json: cells[3]").
CellComparison compare_cells(const nlohmann::json& a, const nlohmann::json& b,
                             double threshold_percent, const std::string& where_a = "A",
                             const std::string& where_b = "B");

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

// Validated documents in, the whole comparison out. Throws UsageError on a bad threshold or
// on figures of the wrong type.
Comparison compare_reports(const nlohmann::json& baseline, const nlohmann::json& candidate,
                           double threshold_percent, const std::string& baseline_path = "A",
                           const std::string& candidate_path = "B");

std::string render_table(const Comparison& c);
nlohmann::json to_json(const Comparison& c);

} // namespace copyscope
