#include "compare/delta.h"

#include <cmath>

#include "common/format.h"

namespace copyscope {

std::string_view to_string(Direction d) {
    switch (d) {
    case Direction::higher_is_better:
        return "higher";
    case Direction::lower_is_better:
        return "lower";
    case Direction::informational:
        return "none";
    }
    return "none";
}

std::string_view to_string(Movement m) {
    switch (m) {
    case Movement::unchanged:
        return "unchanged";
    case Movement::regressed:
        return "regressed";
    case Movement::improved:
        return "improved";
    case Movement::not_comparable:
        return "not_comparable";
    }
    return "not_comparable";
}

std::optional<double> change_percent(double a, double b) {
    if (a == 0) return std::nullopt;
    return (b - a) / std::fabs(a) * 100.0;
}

Movement judge(Direction d, const Figure& a, const Figure& b, double threshold_percent) {
    if (!a.is_number() || !b.is_number()) return Movement::not_comparable;
    if (d == Direction::informational || a.value == b.value) return Movement::unchanged;
    const bool worse = d == Direction::higher_is_better ? b.value < a.value : b.value > a.value;
    const auto change = change_percent(a.value, b.value);
    // From exactly 0 (e.g. no deferred copy at all) any amount is a change beyond any threshold.
    // The epsilon keeps 2 -> 1.9 (-5.000000000000004% in doubles) at a 5% threshold.
    const bool beyond = !change || std::fabs(*change) > threshold_percent + 1e-9;
    if (!beyond) return Movement::unchanged;
    return worse ? Movement::regressed : Movement::improved;
}

MetricDelta make_delta(std::string group, std::string name, std::string label, std::string unit,
                       Direction d, Figure a, Figure b, double threshold_percent) {
    MetricDelta m;
    m.group = std::move(group);
    m.name = std::move(name);
    m.label = std::move(label);
    m.unit = std::move(unit);
    m.direction = d;
    m.ci_a = a.ci95;
    m.ci_b = b.ci95;
    m.a = std::move(a);
    m.b = std::move(b);
    if (m.a.is_number() && m.b.is_number()) m.change = change_percent(m.a.value, m.b.value);
    m.movement = judge(d, m.a, m.b, threshold_percent);
    if (m.ci_a && m.ci_b && m.ci_a->first <= m.ci_b->second && m.ci_b->first <= m.ci_a->second &&
        m.movement != Movement::unchanged && m.movement != Movement::not_comparable) {
        m.movement = Movement::unchanged;
        m.note = "within noise: 95% CIs overlap";
    }
    return m;
}

std::string format_number(double v) {
    if (v == 0) return "0";
    if (std::fabs(v) >= 1000) return fixed(v, 0);
    return significant(v, 4);
}

std::string format_change(const MetricDelta& m) {
    if (!m.a.is_number() || !m.b.is_number()) return "";
    if (!m.change) return m.a.value == m.b.value ? "0.0%" : "from 0";
    if (std::fabs(*m.change) < 0.05) return "0.0%";
    return (*m.change > 0 ? "+" : "") + fixed(*m.change, 1) + "%";
}

// Units go in the label to keep the value columns short; ledger, counter and tracer labels
// already name theirs ("/B", "CPU-s/GiB").
std::string metric_label(const MetricDelta& m) {
    if ((m.group == "throughput" || m.group == "latency") && !m.unit.empty())
        return m.label + " " + m.unit;
    return m.label;
}

} // namespace copyscope
