// The comparison as JSON ("schema": "copyscope-compare"): the same values the table shows,
// each figure a number, {"unsupported": why} or null (with the reason in *_missing).
#include "compare/render_json.h"

#include "compare/compare.h"
#include "report/measured_json.h"

namespace copyscope {
namespace {

using nlohmann::json;

json figure_json(const Figure& f) {
    switch (f.kind) {
    case Figure::Kind::number:
        return f.value;
    case Figure::Kind::unsupported:
        return unsupported_json(f.why);
    case Figure::Kind::absent:
        return nullptr;
    }
    return nullptr;
}

// {mechanism, count, targets}, {"unsupported": why}, or null where the side has no such hook.
json hook_json(const std::optional<Measured<HookChoice>>& h) {
    if (!h) return nullptr;
    if (!*h) return unsupported_json(h->reason());
    return {{"mechanism", to_string((*h)->mechanism)},
            {"count", to_string(h->evidence())},
            {"targets", (*h)->targets}};
}

json string_or_null(const std::optional<std::string>& s) {
    return s ? json(*s) : json(nullptr);
}

json cell_json(const CellComparison& cc) {
    json metrics = json::array();
    for (const MetricDelta& m : cc.metrics)
        metrics.push_back(metric_json(m));
    json hooks = json::array();
    for (const HookDelta& h : cc.hooks)
        hooks.push_back({{"hook", h.hook},
                         {"a", hook_json(h.a)},
                         {"b", hook_json(h.b)},
                         {"differs", h.differs}});
    auto error = [](const std::string& e) { return e.empty() ? json(nullptr) : json(e); };
    return {{"key", to_json(cc.key)},
            {"label", describe(cc.key)},
            {"passed", {{"a", cc.passed_a}, {"b", cc.passed_b}}},
            {"failed_checks", {{"a", cc.failed_checks_a}, {"b", cc.failed_checks_b}}},
            {"error", {{"a", error(cc.error_a)}, {"b", error(cc.error_b)}}},
            {"checks_regressed", cc.checks_regressed},
            {"repetitions", {{"a", cc.repetitions_a}, {"b", cc.repetitions_b}}},
            {"metrics", metrics},
            {"hooks", hooks},
            {"verdict",
             {{"a", string_or_null(cc.verdict_a)},
              {"b", string_or_null(cc.verdict_b)},
              {"differs", cc.verdict_differs}}}};
}

json summary_json(const ReportSummary& r) {
    json j = {{"path", r.path},
              {"kernel_release", r.kernel_release},
              {"cpu_model", r.cpu_model},
              {"started_at", r.started_at},
              {"tool_version", r.tool_version},
              {"complete", r.complete},
              {"cells", r.cells}};
    if (!r.complete) j["interrupted"] = r.interrupted;
    return j;
}

json keys_json(const std::vector<CellKey>& keys) {
    json out = json::array();
    for (const CellKey& k : keys)
        out.push_back(to_json(k));
    return out;
}

} // namespace

json metric_json(const MetricDelta& m) {
    json j = {{"group", m.group},
              {"name", m.name},
              {"label", m.label},
              {"unit", m.unit},
              {"direction", to_string(m.direction)},
              {"a", figure_json(m.a)},
              {"b", figure_json(m.b)},
              {"change_percent", m.change ? json(*m.change) : json(nullptr)},
              {"movement", to_string(m.movement)}};
    if (m.a.kind == Figure::Kind::absent) j["a_missing"] = m.a.why;
    if (m.b.kind == Figure::Kind::absent) j["b_missing"] = m.b.why;
    if (m.ci_a) j["a_ci95"] = {m.ci_a->first, m.ci_a->second};
    if (m.ci_b) j["b_ci95"] = {m.ci_b->first, m.ci_b->second};
    if (!m.note.empty()) j["note"] = m.note;
    return j;
}

nlohmann::json to_json(const Comparison& c) {
    json cells = json::array();
    for (const CellComparison& cc : c.cells)
        cells.push_back(cell_json(cc));
    const auto regressions = c.regressions();
    return {{"schema", "copyscope-compare"},
            {"schema_version", 1},
            {"threshold_percent", c.threshold_percent},
            {"baseline", summary_json(c.baseline)},
            {"candidate", summary_json(c.candidate)},
            {"cells", cells},
            {"only_in_baseline", keys_json(c.only_baseline)},
            {"only_in_candidate", keys_json(c.only_candidate)},
            {"regressions", regressions},
            {"regressed", !regressions.empty()}};
}

} // namespace copyscope
