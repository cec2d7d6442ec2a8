#pragma once
// One metric of one cell on both sides: each side's figure (a number, unsupported, or not
// there at all), the change from A to B in percent, and whether that change is a regression
// in the metric's direction beyond the threshold. Also how these read in text.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace copyscope {

enum class Direction { higher_is_better, lower_is_better, informational };
std::string_view to_string(Direction d); // "higher", "lower", "none"

// A 95% confidence interval (low, high).
using Interval = std::pair<double, double>;

// One side's value of a metric: a number, {"unsupported": why}, or not there at all
// (section missing, not traced, not measured). Only two numbers are ever compared.
struct Figure {
    enum class Kind { number, unsupported, absent };
    Kind kind = Kind::absent;
    double value = 0;
    std::string why;              // unsupported or absent: the reason, in words
    std::optional<Interval> ci95; // numbers over repetitions: their 95% interval

    static Figure number_of(double v) { return {Kind::number, v, {}, {}}; }
    static Figure unsupported_because(std::string why) {
        return {Kind::unsupported, 0, std::move(why), {}};
    }
    static Figure absent_because(std::string why) { return {Kind::absent, 0, std::move(why), {}}; }
    bool is_number() const { return kind == Kind::number; }
};

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
    std::string group; // throughput, latency, ledger, zerocopy, counters, tracer
    std::string name;  // stable key, e.g. "copies_per_byte", "thread.cpu_seconds_per_gib"
    std::string label; // for the table, e.g. "copies per byte"
    std::string unit;
    Direction direction = Direction::informational;
    Figure a, b;
    std::optional<double> change; // percent
    Movement movement = Movement::unchanged;
    std::optional<Interval> ci_a, ci_b; // when the metric has intervals and the cell repeated
    std::string note;
};

// Both figures judged against each other. A move whose 95% intervals still overlap is not
// evidence of a change, whatever its size: it stays unchanged, with a note saying why.
MetricDelta make_delta(std::string group, std::string name, std::string label, std::string unit,
                       Direction d, Figure a, Figure b, double threshold_percent);

// Enough digits to see a 0.1% move in a ratio near 2, no scientific notation for counts.
std::string format_number(double v);
// "+1.2%", "0.0%", "from 0", or "" when a side is not a number.
std::string format_change(const MetricDelta& m);
// The row's label, with the unit where the values do not carry it.
std::string metric_label(const MetricDelta& m);

} // namespace copyscope
