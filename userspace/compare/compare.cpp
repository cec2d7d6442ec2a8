#include "compare/compare.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <ostream>

#include "common/errors.h"
#include "compare/trace_compare.h"

namespace copyscope {
namespace {

std::vector<std::string> failed_checks(const CellResult& cell) {
    std::vector<std::string> out;
    for (const Check& c : cell.checks)
        if (!c.passed) out.push_back(c.name);
    return out;
}

std::optional<Measured<HookChoice>> hook_of(const CellResult& cell, const std::string& name) {
    if (!cell.ledger) return std::nullopt;
    const HookUse* h = cell.ledger->hook(name);
    if (!h) return std::nullopt;
    return h->form;
}

// The same form: mechanism, evidence and targets (the note is prose). Two unsupported hooks
// agree whatever words their reasons use.
bool same_form(const std::optional<Measured<HookChoice>>& a,
               const std::optional<Measured<HookChoice>>& b) {
    if (!a || !b) return !a && !b;
    if (!*a || !*b) return !*a && !*b;
    return (*a)->mechanism == (*b)->mechanism && a->evidence() == b->evidence() &&
           (*a)->targets == (*b)->targets;
}

// The tracer's hooks in its own order, then any either report has beyond them.
std::vector<std::string> hook_names(const CellResult& a, const CellResult& b) {
    std::vector<std::string> names(std::begin(all_hooks), std::end(all_hooks));
    for (const CellResult* c : {&a, &b})
        if (c->ledger)
            for (const HookUse& h : c->ledger->hooks)
                if (std::find(names.begin(), names.end(), h.hook) == names.end())
                    names.push_back(h.hook);
    return names;
}

// Hook mechanisms: this is where kernels differ (fexit on stock kernels, tp_btf here).
std::vector<HookDelta> hook_deltas(const CellResult& a, const CellResult& b) {
    std::vector<HookDelta> out;
    for (const std::string& name : hook_names(a, b)) {
        HookDelta hd{name, hook_of(a, name), hook_of(b, name), false};
        if (!hd.a && !hd.b) continue;
        // An untraced side has no hooks to differ in; its rows show "-".
        hd.differs = a.ledger && b.ledger && !same_form(hd.a, hd.b);
        out.push_back(std::move(hd));
    }
    return out;
}

void check_threshold(double threshold_percent) {
    if (!std::isfinite(threshold_percent) || threshold_percent < 0)
        throw UsageError("--threshold " + format_number(threshold_percent) +
                         ": must be a percentage >= 0 (e.g. 5)");
}

ReportSummary summarize_report(const Report& r, const std::string& path) {
    return {path,       r.host.kernel_release, r.host.cpu_model, r.started_at, r.tool_version,
            r.complete, r.interrupted_reason,  r.cells.size()};
}

std::string regression_of_checks(const std::string& cell, const CellComparison& c) {
    std::string line = cell + ": checks passed in A, failed in B";
    if (!c.failed_checks_b.empty()) {
        line += " (";
        for (size_t i = 0; i < c.failed_checks_b.size(); ++i)
            line += (i ? "; " : "") + c.failed_checks_b[i];
        line += ")";
    } else if (!c.error_b.empty()) {
        line += " (" + c.error_b + ")";
    }
    return line;
}

} // namespace

CellComparison compare_cells(const CellResult& a, const CellResult& b, double threshold_percent) {
    CellComparison cc;
    cc.key = cell_key(a);
    cc.passed_a = a.passed();
    cc.passed_b = b.passed();
    cc.failed_checks_a = failed_checks(a);
    cc.failed_checks_b = failed_checks(b);
    cc.error_a = a.error;
    cc.error_b = b.error;
    cc.checks_regressed = cc.passed_a && !cc.passed_b;
    cc.repetitions_a = a.throughput.samples.size();
    cc.repetitions_b = b.throughput.samples.size();
    for (const MetricDef& def : metric_table()) {
        if (def.applies && !def.applies(a) && !def.applies(b)) continue;
        cc.metrics.push_back(make_delta(def.group, def.name, def.label, def.unit, def.direction,
                                        def.extract(a), def.extract(b), threshold_percent));
    }
    cc.hooks = hook_deltas(a, b);
    if (a.ledger) cc.verdict_a = a.ledger->verdict;
    if (b.ledger) cc.verdict_b = b.ledger->verdict;
    cc.verdict_differs = a.ledger && b.ledger && cc.verdict_a != cc.verdict_b;
    return cc;
}

std::vector<std::string> Comparison::regressions() const {
    std::vector<std::string> out;
    for (const CellComparison& c : cells) {
        const std::string cell = describe(c.key);
        for (const MetricDelta& m : c.metrics) {
            if (m.movement != Movement::regressed) continue;
            const std::string pct = m.unit == "%" ? "%" : "";
            out.push_back(cell + ": " + metric_label(m) + " " + format_number(m.a.value) + pct +
                          " -> " + format_number(m.b.value) + pct + " (" + format_change(m) + ")");
        }
        if (c.checks_regressed) out.push_back(regression_of_checks(cell, c));
    }
    return out;
}

Comparison compare_reports(const Report& baseline, const Report& candidate,
                           double threshold_percent, const std::string& baseline_path,
                           const std::string& candidate_path) {
    check_threshold(threshold_percent);
    Comparison c;
    c.threshold_percent = threshold_percent;
    c.baseline = summarize_report(baseline, baseline_path);
    c.candidate = summarize_report(candidate, candidate_path);
    CellMatching m = match_cells(baseline.cells, candidate.cells);
    for (const CellPair& p : m.matched)
        c.cells.push_back(compare_cells(*p.baseline, *p.candidate, threshold_percent));
    c.only_baseline = std::move(m.only_baseline);
    c.only_candidate = std::move(m.only_candidate);
    return c;
}

// Two trace reports: their scopes' totals, processes and connections side by side.
int run_trace_compare(const nlohmann::json& doc_a, const nlohmann::json& doc_b,
                      const CompareOptions& options, std::ostream& out, std::ostream& err) {
    const TraceReport a = read_trace_report(doc_a, options.baseline_path);
    const TraceReport b = read_trace_report(doc_b, options.candidate_path);
    const TraceComparison c = compare_traces(a, b, options.threshold_percent, options.baseline_path,
                                             options.candidate_path);
    if (c.rows.size() == 1 && (!a.processes.empty() || !b.processes.empty()))
        err << "copyscope compare: warning: the traces have no process (comm) in common; only "
               "the scopes' totals were compared\n";
    if (options.json)
        out << to_json(c).dump(2) << "\n";
    else
        out << render_trace_table(c);
    return c.regressions().empty() ? 0 : 1;
}

int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err) {
    // Check the threshold before reading anything: a usage error starts nothing.
    check_threshold(options.threshold_percent);
    const nlohmann::json doc_a = load_json(options.baseline_path);
    const nlohmann::json doc_b = load_json(options.candidate_path);
    const bool trace_a = report_schema_of(doc_a) == trace_report_schema;
    const bool trace_b = report_schema_of(doc_b) == trace_report_schema;
    if (trace_a != trace_b)
        throw UsageError((trace_a ? options.baseline_path : options.candidate_path) +
                         ": a trace report, and " +
                         (trace_a ? options.candidate_path : options.baseline_path) +
                         " is not: compare takes two run reports or two trace reports");
    if (trace_a) return run_trace_compare(doc_a, doc_b, options, out, err);
    const Report a = read_report(doc_a, options.baseline_path);
    const Report b = read_report(doc_b, options.candidate_path);
    const Comparison c = compare_reports(a, b, options.threshold_percent, options.baseline_path,
                                         options.candidate_path);
    for (const ReportSummary* r : {&c.baseline, &c.candidate})
        if (!r->complete)
            err << "copyscope compare: warning: " << r->path
                << " is an incomplete run; its missing cells show as only in the other report\n";
    if (c.cells.empty())
        err << "copyscope compare: warning: the reports have no cells in common; nothing was "
               "compared\n";
    if (options.json)
        out << to_json(c).dump(2) << "\n";
    else
        out << render_table(c);
    return c.regressed() ? 1 : 0;
}

} // namespace copyscope
