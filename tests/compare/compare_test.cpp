// copyscope compare: loading through the typed report model, matching, deltas, direction,
// thresholds, the metric table, and the whole command on hand-written reports
// (data/baseline.json vs data/candidate.json) and on real reports from the development VM
// (data/real-*.json).
#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "compare/compare.h"
#include "compare/trace_compare.h"
#include "report/report.h"

namespace copyscope {
namespace {

using nlohmann::json;

std::string data(const std::string& name) {
    return std::string(COPYSCOPE_SOURCE_DIR) + "/tests/compare/data/" + name;
}

json cell(const std::string& strategy, uint64_t size, unsigned threads = 1,
          const std::string& transport = "veth") {
    return {{"strategy", strategy},
            {"transport", transport},
            {"message_size", size},
            {"threads", threads}};
}

json report(json cells) {
    return {{"schema", "copyscope-report"}, {"schema_version", 1}, {"cells", std::move(cells)}};
}

// A hand-written cell as the typed model reads it.
CellResult typed(const json& cell) {
    return cell_from_json(JsonIn(cell, "cell"));
}

Report typed_report(const json& doc) {
    return read_report(doc, "r");
}

CellComparison compare_cells(const json& a, const json& b, double threshold) {
    return compare_cells(typed(a), typed(b), threshold);
}

const MetricDelta& metric(const CellComparison& c, const std::string& name) {
    for (const MetricDelta& m : c.metrics)
        if (m.name == name) return m;
    throw std::runtime_error("no metric " + name);
}

const CellComparison& cell_named(const Comparison& c, const std::string& label) {
    for (const CellComparison& cc : c.cells)
        if (describe(cc.key) == label) return cc;
    throw std::runtime_error("no cell " + label);
}

// The UsageError message run_compare throws for these two files, or "" when none.
std::string usage_error(const std::string& a, const std::string& b, double threshold = 5) {
    std::ostringstream out, err;
    try {
        run_compare({a, b, threshold, false}, out, err);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

// ---- change, direction, threshold ----------------------------------------------------------

TEST(CompareDelta, ChangeIsRelativeToTheBaseline) {
    EXPECT_DOUBLE_EQ(*change_percent(10, 9), -10);
    EXPECT_DOUBLE_EQ(*change_percent(4, 5), 25);
    EXPECT_DOUBLE_EQ(*change_percent(2, 2), 0);
    EXPECT_DOUBLE_EQ(*change_percent(-2, -1), 50); // relative to |a|
    EXPECT_FALSE(change_percent(0, 1).has_value());
    EXPECT_FALSE(change_percent(0, 0).has_value());
}

TEST(CompareDelta, DirectionDecidesWhatARegressionIs) {
    const Figure ten = Figure::number_of(10), eight = Figure::number_of(8);
    EXPECT_EQ(judge(Direction::higher_is_better, ten, eight, 5), Movement::regressed);
    EXPECT_EQ(judge(Direction::higher_is_better, eight, ten, 5), Movement::improved);
    EXPECT_EQ(judge(Direction::lower_is_better, ten, eight, 5), Movement::improved);
    EXPECT_EQ(judge(Direction::lower_is_better, eight, ten, 5), Movement::regressed);
    EXPECT_EQ(judge(Direction::informational, ten, eight, 5), Movement::unchanged);
    EXPECT_EQ(judge(Direction::informational, eight, ten, 0), Movement::unchanged);
}

TEST(CompareDelta, ThresholdIsStrict) {
    const Figure a = Figure::number_of(100);
    EXPECT_EQ(judge(Direction::higher_is_better, a, Figure::number_of(95), 5), Movement::unchanged);
    EXPECT_EQ(judge(Direction::higher_is_better, a, Figure::number_of(94.9), 5),
              Movement::regressed);
    EXPECT_EQ(judge(Direction::lower_is_better, a, Figure::number_of(105), 5), Movement::unchanged);
    EXPECT_EQ(judge(Direction::lower_is_better, a, Figure::number_of(105.1), 5),
              Movement::regressed);
    EXPECT_EQ(judge(Direction::lower_is_better, a, Figure::number_of(110), 20),
              Movement::unchanged);
    // Exactly at the threshold even where doubles round the change past it.
    EXPECT_EQ(judge(Direction::lower_is_better, Figure::number_of(2), Figure::number_of(1.9), 5),
              Movement::unchanged);
    EXPECT_EQ(judge(Direction::lower_is_better, Figure::number_of(2), Figure::number_of(2.1), 5),
              Movement::unchanged);
    // Threshold 0: any move in the bad direction counts; no move never does.
    EXPECT_EQ(judge(Direction::lower_is_better, a, Figure::number_of(100.001), 0),
              Movement::regressed);
    EXPECT_EQ(judge(Direction::lower_is_better, a, a, 0), Movement::unchanged);
}

TEST(CompareDelta, MoveAwayFromZeroIsBeyondAnyThreshold) {
    const Figure zero = Figure::number_of(0), some = Figure::number_of(0.01);
    EXPECT_EQ(judge(Direction::lower_is_better, zero, some, 1000), Movement::regressed);
    EXPECT_EQ(judge(Direction::lower_is_better, some, zero, 5), Movement::improved);
    EXPECT_EQ(judge(Direction::higher_is_better, zero, some, 1000), Movement::improved);
    EXPECT_EQ(judge(Direction::lower_is_better, zero, zero, 0), Movement::unchanged);
}

TEST(CompareDelta, UnsupportedOrMissingIsNeverReadAsZero) {
    const Figure n = Figure::number_of(3);
    const Figure u = Figure::unsupported_because("cycles: ENOENT");
    const Figure m = Figure::absent_because("not traced");
    for (Direction d : {Direction::higher_is_better, Direction::lower_is_better}) {
        EXPECT_EQ(judge(d, n, u, 5), Movement::not_comparable);
        EXPECT_EQ(judge(d, u, n, 5), Movement::not_comparable);
        EXPECT_EQ(judge(d, n, m, 5), Movement::not_comparable);
        EXPECT_EQ(judge(d, m, u, 5), Movement::not_comparable);
    }
}

TEST(CompareDelta, FigureOfMeasuredTakesNumbersUnsupportedAndMissing) {
    EXPECT_EQ(figure_of(Measured<double>(1.5), "").value, 1.5);
    EXPECT_EQ(figure_of(Measured<uint64_t>(7), "").value, 7);
    Figure u = figure_of(Measured<double>(Unsupported{"why"}), "");
    EXPECT_EQ(u.kind, Figure::Kind::unsupported);
    EXPECT_EQ(u.why, "why");
    // What the report did not hold is absent, not unsupported.
    Figure z = figure_of(Measured<uint64_t>(Unsupported{not_in_report}), "none here");
    EXPECT_EQ(z.kind, Figure::Kind::absent);
    EXPECT_EQ(z.why, "none here");
    // A figure of the wrong type never gets this far: the reader names it.
    json bad = report({cell("one-copy", 64)});
    bad["cells"][0]["ledger"] = {{"deferred_copy_bytes", "2.0"}};
    try {
        read_report(bad, "r.json");
        ADD_FAILURE() << "no error";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("r.json: cells[0].ledger.deferred_copy_bytes"),
                  std::string::npos)
            << e.what();
    }
}

// ---- matching ------------------------------------------------------------------------------

TEST(CompareMatch, CellsMatchByTheirParameters) {
    Report a = typed_report(
        report({cell("one-copy", 65536), cell("zero-copy", 65536), cell("one-copy", 4096),
                cell("one-copy", 65536, 2), cell("one-copy", 65536, 1, "loopback")}));
    Report b =
        typed_report(report({cell("one-copy", 4096), cell("one-copy", 65536),
                             cell("two-copy", 65536), cell("one-copy", 65536, 1, "loopback")}));
    CellMatching m = match_cells(a.cells, b.cells);
    ASSERT_EQ(m.matched.size(), 3u);
    EXPECT_EQ(describe(m.matched[0].key), "one-copy veth 64KiB x1");
    EXPECT_EQ(m.matched[0].baseline, &a.cells[0]);
    EXPECT_EQ(m.matched[0].candidate, &b.cells[1]);
    EXPECT_EQ(describe(m.matched[1].key), "one-copy veth 4KiB x1");
    EXPECT_EQ(describe(m.matched[2].key), "one-copy loopback 64KiB x1");
    ASSERT_EQ(m.only_baseline.size(), 2u);
    EXPECT_EQ(describe(m.only_baseline[0]), "zero-copy veth 64KiB x1");
    EXPECT_EQ(describe(m.only_baseline[1]), "one-copy veth 64KiB x2");
    ASSERT_EQ(m.only_candidate.size(), 1u);
    EXPECT_EQ(describe(m.only_candidate[0]), "two-copy veth 64KiB x1");
}

TEST(CompareMatch, PatternDefaultsToStreamAndSeparatesRr) {
    json old_cell = cell("one-copy", 4096); // a report from before "pattern" existed
    json stream = cell("one-copy", 4096);
    stream["pattern"] = "stream";
    json rr = cell("one-copy", 4096);
    rr["pattern"] = "rr";
    const Report a = typed_report(report({old_cell, rr})), b = typed_report(report({stream}));
    CellMatching m = match_cells(a.cells, b.cells);
    ASSERT_EQ(m.matched.size(), 1u);
    EXPECT_EQ(m.matched[0].key.pattern, Pattern::stream);
    ASSERT_EQ(m.only_baseline.size(), 1u);
    EXPECT_EQ(describe(m.only_baseline[0]), "one-copy veth 4KiB x1 rr");
    EXPECT_TRUE(m.only_candidate.empty());
}

TEST(CompareMatch, RepeatedCellsPairInOrder) {
    json a1 = cell("one-copy", 4096), a2 = cell("one-copy", 4096), b1 = cell("one-copy", 4096);
    a1["throughput"] = {{"samples", {1.0}}};
    a2["throughput"] = {{"samples", {2.0}}};
    b1["throughput"] = {{"samples", {3.0}}};
    const Report a = typed_report(report({a1, a2})), b = typed_report(report({b1}));
    CellMatching m = match_cells(a.cells, b.cells);
    ASSERT_EQ(m.matched.size(), 1u);
    EXPECT_EQ(m.matched[0].baseline->gbits_per_second(), 1);
    ASSERT_EQ(m.only_baseline.size(), 1u);
    EXPECT_TRUE(m.only_candidate.empty());
    // And the other way round: the candidate's second copy is the one left over.
    CellMatching r = match_cells(b.cells, a.cells);
    ASSERT_EQ(r.matched.size(), 1u);
    EXPECT_EQ(r.matched[0].candidate->gbits_per_second(), 1);
    EXPECT_TRUE(r.only_baseline.empty());
    EXPECT_EQ(r.only_candidate.size(), 1u);
}

TEST(CompareMatch, DescribeNamesSizesInBinaryUnits) {
    EXPECT_EQ(describe({Strategy::two_copy, Transport::veth, 256, 2, Pattern::stream}),
              "two-copy veth 256B x2");
    EXPECT_EQ(describe({Strategy::two_copy, Transport::veth, 1000, 1, Pattern::stream}),
              "two-copy veth 1000B x1");
    EXPECT_EQ(describe({Strategy::two_copy, Transport::veth, 1 << 20, 1, Pattern::rr}),
              "two-copy veth 1MiB x1 rr");
}

// ---- one cell ------------------------------------------------------------------------------

TEST(CompareCell, LedgerBytesCompareAsRatiosOfAppBytes) {
    json a = cell("one-copy", 65536), b = cell("one-copy", 65536);
    a["ledger"] = {
        {"app_bytes_sent", 1000}, {"kernel_send_copy_bytes", 1000}, {"copies_per_byte", 2}};
    b["ledger"] = {
        {"app_bytes_sent", 250}, {"kernel_send_copy_bytes", 250}, {"copies_per_byte", 2}};
    CellComparison c = compare_cells(a, b, 5);
    const MetricDelta& send = metric(c, "kernel_send_copy_bytes");
    EXPECT_EQ(send.a.value, 1.0);
    EXPECT_EQ(send.b.value, 1.0);
    EXPECT_EQ(send.movement, Movement::unchanged);
    EXPECT_EQ(send.direction, Direction::lower_is_better);
    // A field the ledger lacks stays missing, never 0.
    EXPECT_EQ(metric(c, "deferred_copy_bytes").a.kind, Figure::Kind::absent);
    EXPECT_EQ(metric(c, "deferred_copy_bytes").movement, Movement::not_comparable);
}

TEST(CompareCell, ThroughputUsesTheMeanAndIgnoresMovesWithinOverlappingIntervals) {
    json a = cell("one-copy", 65536), b = cell("one-copy", 65536);
    a["gbit_per_second"] = 99; // as written: derived again from the samples
    // Mean 10, 95% interval 10 ± 12.7 (two samples: Student's t of 1 degree of freedom).
    a["throughput"] = {{"samples", {9.0, 11.0}}};
    b["throughput"] = {{"samples", {8.0, 9.0}}};
    // The comparison outlives the references into it.
    const CellComparison close = compare_cells(a, b, 5);
    const MetricDelta& m = metric(close, "gbit_per_second");
    EXPECT_EQ(m.a.value, 10.0);
    ASSERT_TRUE(m.ci_a);
    EXPECT_NEAR(m.ci_a->first, 10 - 12.706, 0.01);
    EXPECT_DOUBLE_EQ(*m.change, -15);
    EXPECT_EQ(m.movement, Movement::unchanged);
    EXPECT_NE(m.note.find("overlap"), std::string::npos);

    a["throughput"] = {{"samples", {10.0, 10.0, 10.0}}}; // 10 ± 0
    b["throughput"] = {{"samples", {7.9, 8.0, 8.1}}};    // 8 ± 0.25
    const CellComparison far = compare_cells(a, b, 5);
    const MetricDelta& apart = metric(far, "gbit_per_second");
    EXPECT_DOUBLE_EQ(apart.b.value, 8.0);
    EXPECT_EQ(apart.movement, Movement::regressed);

    // Without intervals (one repetition) the threshold alone decides.
    b["throughput"] = {{"samples", {8.5}}};
    EXPECT_FALSE(metric(compare_cells(a, b, 5), "gbit_per_second").ci_b);
    EXPECT_EQ(metric(compare_cells(a, b, 5), "gbit_per_second").movement, Movement::regressed);
}

TEST(CompareCell, CountersOnlyComparedWhereBothHaveThem) {
    json a = cell("one-copy", 65536), b = cell("one-copy", 65536);
    a["counters"] = {{"derived",
                      {{"thread",
                        {{"cpu_seconds_per_gib", 1.0},
                         {"cycles_per_byte", 3.0},
                         {"context_switches_per_second", 100.0}}},
                       {"system", {{"cpu_seconds_per_gib", 4.0}}}}}};
    b["counters"] = {{"derived",
                      {{"thread",
                        {{"cpu_seconds_per_gib", 1.5},
                         {"cycles_per_byte", {{"unsupported", "cycles: ENOENT"}}},
                         {"context_switches_per_second", 500.0}}},
                       {"system", {{"cpu_seconds_per_gib", 8.0}}}}}};
    CellComparison c = compare_cells(a, b, 5);
    EXPECT_EQ(metric(c, "thread.cpu_seconds_per_gib").movement, Movement::regressed);
    EXPECT_EQ(metric(c, "thread.cycles_per_byte").movement, Movement::not_comparable);
    EXPECT_EQ(metric(c, "thread.cycles_per_byte").b.why, "cycles: ENOENT");
    // Shown, never judged: rates that follow throughput, and the whole-machine scope.
    EXPECT_EQ(metric(c, "thread.context_switches_per_second").movement, Movement::unchanged);
    EXPECT_EQ(metric(c, "system.cpu_seconds_per_gib").movement, Movement::unchanged);
    EXPECT_DOUBLE_EQ(*metric(c, "system.cpu_seconds_per_gib").change, 100);

    b["counters"] = nullptr; // not measured at all
    CellComparison none = compare_cells(a, b, 5);
    EXPECT_EQ(metric(none, "thread.cpu_seconds_per_gib").b.kind, Figure::Kind::absent);
    EXPECT_EQ(metric(none, "thread.cpu_seconds_per_gib").movement, Movement::not_comparable);
}

TEST(CompareCell, HookMechanismsAreSetSideBySide) {
    json a = cell("zero-copy", 65536), b = cell("zero-copy", 65536);
    a["ledger"] = {{"hooks",
                    {{"send", {{"mechanism", "tp_btf"}, {"count", "exact"}}},
                     {"receive_copy", {{"mechanism", "tp_btf"}, {"count", "exact"}}},
                     {"completions", {{"unsupported", "not here"}}}}}};
    b["ledger"] = {{"hooks",
                    {{"send", {{"mechanism", "fexit"}, {"count", "exact"}}},
                     {"receive_copy", {{"mechanism", "tp_btf"}, {"count", "exact"}}},
                     {"completions", {{"unsupported", "missing for another reason"}}}}}};
    CellComparison c = compare_cells(a, b, 5);
    ASSERT_EQ(c.hooks.size(), 3u);
    EXPECT_EQ(c.hooks[0].hook, "send");
    EXPECT_TRUE(c.hooks[0].differs);
    EXPECT_EQ(c.hooks[1].hook, "receive_copy");
    EXPECT_FALSE(c.hooks[1].differs);
    EXPECT_EQ(c.hooks[2].hook, "completions");
    EXPECT_FALSE(c.hooks[2].differs);

    b["ledger"] = nullptr; // B not traced: nothing to differ in
    const CellComparison untraced = compare_cells(a, b, 5);
    for (const HookDelta& h : untraced.hooks)
        EXPECT_FALSE(h.differs) << h.hook;
    EXPECT_FALSE(untraced.verdict_differs);
}

TEST(CompareCell, PassedThenFailedIsARegression) {
    json a = cell("one-copy", 4096), b = cell("one-copy", 4096);
    a["passed"] = true;
    b["passed"] = false;
    b["checks"] = json::array({{{"name", "ledger conserves bytes"}, {"passed", false}},
                               {{"name", "bytes received"}, {"passed", true}}});
    CellComparison c = compare_cells(a, b, 5);
    EXPECT_TRUE(c.checks_regressed);
    EXPECT_EQ(c.failed_checks_b, std::vector<std::string>{"ledger conserves bytes"});
    EXPECT_FALSE(compare_cells(b, a, 5).checks_regressed); // fixed, not regressed
}

// ---- whole reports -------------------------------------------------------------------------

TEST(CompareReports, HandWrittenBaselineAgainstCandidate) {
    const Report a = load_report(data("baseline.json"));
    const Report b = load_report(data("candidate.json"));
    Comparison c = compare_reports(a, b, 5, "baseline.json", "candidate.json");
    EXPECT_EQ(c.baseline.kernel_release, "6.18.0-test");
    EXPECT_EQ(c.candidate.kernel_release, "6.1.0-test-cloud-amd64");
    ASSERT_EQ(c.cells.size(), 3u);
    ASSERT_EQ(c.only_baseline.size(), 1u);
    EXPECT_EQ(describe(c.only_baseline[0]), "two-copy loopback 4KiB x2");
    ASSERT_EQ(c.only_candidate.size(), 1u);
    EXPECT_EQ(describe(c.only_candidate[0]), "per-field veth 256B x1");

    // one-copy: -4% throughput is within 5%; half the run length moves no ratio; the
    // thread CPU-s/GiB +20% regressed.
    const CellComparison& one = cell_named(c, "one-copy veth 64KiB x1");
    EXPECT_EQ(metric(one, "gbit_per_second").movement, Movement::unchanged);
    EXPECT_EQ(metric(one, "kernel_send_copy_bytes").a.value, 1.0);
    EXPECT_EQ(metric(one, "kernel_send_copy_bytes").b.value, 1.0);
    EXPECT_EQ(metric(one, "thread.cpu_seconds_per_gib").movement, Movement::regressed);
    EXPECT_EQ(metric(one, "retransmit_bytes").a.kind, Figure::Kind::unsupported);

    // zero-copy: throughput up, fallback copies appeared (from 0), deferred copies halved,
    // the hooks took the stock kernel's forms, the verdict changed.
    const CellComparison& zc = cell_named(c, "zero-copy veth 64KiB x1");
    EXPECT_EQ(metric(zc, "gbit_per_second").movement, Movement::improved);
    EXPECT_EQ(metric(zc, "zerocopy_fallback_bytes").movement, Movement::regressed);
    EXPECT_FALSE(metric(zc, "zerocopy_fallback_bytes").change.has_value());
    EXPECT_EQ(metric(zc, "deferred_copy_bytes").movement, Movement::improved);
    EXPECT_EQ(metric(zc, "completions_copied_percent").a.value, 100);
    EXPECT_EQ(metric(zc, "completions_copied_percent").b.value, 50);
    EXPECT_EQ(metric(zc, "copies_per_byte").movement, Movement::unchanged);
    EXPECT_TRUE(zc.verdict_differs);
    bool send_differs = false, receive_differs = true;
    for (const HookDelta& h : zc.hooks) {
        if (h.hook == "send") send_differs = h.differs;
        if (h.hook == "receive_copy") receive_differs = h.differs;
    }
    EXPECT_TRUE(send_differs);
    EXPECT_FALSE(receive_differs);

    // rr: p99 +20% regressed, max is only shown, and the cell's checks now fail.
    const CellComparison& rr = cell_named(c, "one-copy veth 4KiB x1 rr");
    EXPECT_EQ(metric(rr, "p99_us").movement, Movement::regressed);
    EXPECT_EQ(metric(rr, "p50_us").movement, Movement::unchanged); // +2.5%
    EXPECT_EQ(metric(rr, "max_us").movement, Movement::unchanged);
    EXPECT_TRUE(rr.checks_regressed);

    const auto regressions = c.regressions();
    ASSERT_EQ(regressions.size(), 4u);
    EXPECT_NE(regressions[0].find("one-copy veth 64KiB x1: thread CPU-s/GiB 1 -> 1.2 (+20.0%)"),
              std::string::npos)
        << regressions[0];
    EXPECT_NE(
        regressions[1].find("zero-copy veth 64KiB x1: zerocopy fallback /B 0 -> 0.5 (from 0)"),
        std::string::npos)
        << regressions[1];
    EXPECT_NE(regressions[2].find("latency p99 us 50 -> 60 (+20.0%)"), std::string::npos);
    EXPECT_NE(regressions[3].find("checks passed in A, failed in B (bytes_received_equal_sent)"),
              std::string::npos);
}

TEST(CompareReports, ThresholdMovesTheLine) {
    const Report a = load_report(data("baseline.json"));
    const Report b = load_report(data("candidate.json"));
    // 25% keeps what can't be judged in percent (from 0, failed checks); drops the 20% moves.
    Comparison c = compare_reports(a, b, 25);
    EXPECT_EQ(c.regressions().size(), 2u);
    Comparison strict = compare_reports(a, b, 0);
    EXPECT_GT(strict.regressions().size(), 4u); // -4% throughput, +2.5% p50 now count
    EXPECT_THROW(compare_reports(a, b, -1), UsageError);
    EXPECT_THROW(compare_reports(a, b, std::nan("")), UsageError);
}

TEST(CompareReports, AReportAgainstItselfShowsNoChange) {
    const Report a = load_report(data("real-traced.json"));
    Comparison c = compare_reports(a, a, 0);
    ASSERT_EQ(c.cells.size(), 2u);
    EXPECT_TRUE(c.only_baseline.empty());
    EXPECT_TRUE(c.only_candidate.empty());
    EXPECT_TRUE(c.regressions().empty());
    for (const CellComparison& cc : c.cells) {
        for (const MetricDelta& m : cc.metrics)
            EXPECT_NE(m.movement, Movement::regressed) << m.name;
        for (const HookDelta& h : cc.hooks)
            EXPECT_FALSE(h.differs) << h.hook;
        EXPECT_FALSE(cc.verdict_differs);
    }
    const CellComparison& zc = cell_named(c, "zero-copy veth 4KiB x1");
    EXPECT_NEAR(metric(zc, "copies_per_byte").a.value, 2.0, 0.01);
    EXPECT_NEAR(metric(zc, "deferred_copy_bytes").a.value, 1.0, 0.01);
    EXPECT_TRUE(zc.verdict_a.has_value());
}

TEST(CompareReports, RealTracedAgainstUntraced) {
    const Report a = load_report(data("real-traced.json"));
    const Report b = load_report(data("real-untraced.json"));
    Comparison c = compare_reports(a, b, 5);
    ASSERT_EQ(c.cells.size(), 2u);
    for (const CellComparison& cc : c.cells) {
        EXPECT_EQ(metric(cc, "copies_per_byte").movement, Movement::not_comparable);
        EXPECT_EQ(metric(cc, "copies_per_byte").b.why, "no ledger (run without the tracer)");
        EXPECT_TRUE(metric(cc, "gbit_per_second").b.is_number());
        EXPECT_TRUE(metric(cc, "thread.cpu_seconds_per_gib").b.is_number());
        for (const HookDelta& h : cc.hooks)
            EXPECT_FALSE(h.differs);
    }
    // The kernel's COPIED notifications do not need the tracer.
    const CellComparison& zc = cell_named(c, "zero-copy veth 4KiB x1");
    EXPECT_EQ(metric(zc, "completions_copied_percent").movement, Movement::unchanged);
    EXPECT_EQ(metric(zc, "completions_copied_percent").b.value, 100);
}

// ---- the command ---------------------------------------------------------------------------

TEST(CompareCommand, ExitStatusAndTable) {
    std::ostringstream out, err;
    EXPECT_EQ(run_compare({data("baseline.json"), data("candidate.json"), 5, false}, out, err), 1);
    const std::string t = out.str();
    EXPECT_NE(t.find("kernel 6.18.0-test"), std::string::npos);
    EXPECT_NE(t.find("kernel 6.1.0-test-cloud-amd64"), std::string::npos);
    EXPECT_NE(t.find("== zero-copy veth 64KiB x1 =="), std::string::npos);
    EXPECT_NE(t.find("Only in A (1): two-copy loopback 4KiB x2"), std::string::npos);
    EXPECT_NE(t.find("Only in B (1): per-field veth 256B x1"), std::string::npos);
    EXPECT_NE(t.find("Regressed beyond 5% (4):"), std::string::npos);
    EXPECT_NE(t.find("[DIFFERS]"), std::string::npos); // verdict
    // The hook rows: fexit on the stock kernel against tp_btf here.
    std::istringstream lines(t);
    std::string line, send_row;
    size_t widest = 0;
    while (std::getline(lines, line)) {
        if (line.rfind("  hook send", 0) == 0 && send_row.empty()) send_row = line;
        widest = std::max(widest, line.size());
    }
    EXPECT_NE(send_row.find("tp_btf/exact"), std::string::npos) << send_row;
    EXPECT_NE(send_row.find("fexit/exact"), std::string::npos) << send_row;
    EXPECT_NE(send_row.find("DIFFERS"), std::string::npos) << send_row;
    EXPECT_LE(widest, 110u);
    EXPECT_TRUE(err.str().empty()) << err.str();

    std::ostringstream same_out, same_err;
    EXPECT_EQ(run_compare({data("real-traced.json"), data("real-traced.json"), 5, false}, same_out,
                          same_err),
              0);
    EXPECT_NE(same_out.str().find("No metric regressed beyond 5% (2 cells compared)."),
              std::string::npos);
}

TEST(CompareCommand, JsonCarriesTheSameComparison) {
    std::ostringstream out, err;
    EXPECT_EQ(run_compare({data("baseline.json"), data("candidate.json"), 5, true}, out, err), 1);
    const json j = json::parse(out.str());
    EXPECT_EQ(j["schema"], "copyscope-compare");
    EXPECT_EQ(j["baseline"]["kernel_release"], "6.18.0-test");
    EXPECT_EQ(j["candidate"]["kernel_release"], "6.1.0-test-cloud-amd64");
    EXPECT_EQ(j["regressed"], true);
    EXPECT_EQ(j["regressions"].size(), 4u);
    EXPECT_EQ(j["cells"].size(), 3u);
    EXPECT_EQ(j["only_in_baseline"][0]["strategy"], "two-copy");
    EXPECT_EQ(j["only_in_candidate"][0]["message_size"], 256);
    const json& one = j["cells"][0];
    EXPECT_EQ(one["label"], "one-copy veth 64KiB x1");
    bool saw_unsupported = false;
    for (const json& m : one["metrics"]) {
        if (m["name"] == "thread.cycles_per_byte") {
            saw_unsupported = true;
            EXPECT_TRUE(m["a"].contains("unsupported"));
            EXPECT_EQ(m["movement"], "not_comparable");
            EXPECT_TRUE(m["change_percent"].is_null());
        }
        if (m["name"] == "gbit_per_second") {
            EXPECT_EQ(m["direction"], "higher");
            EXPECT_NEAR(m["change_percent"].get<double>(), -4.0, 1e-9);
        }
    }
    EXPECT_TRUE(saw_unsupported);
}

TEST(CompareCommand, NoCellsInCommonWarns) {
    std::ostringstream out, err;
    EXPECT_EQ(run_compare({data("baseline.json"), data("real-traced.json"), 5, false}, out, err),
              0);
    EXPECT_NE(err.str().find("no cells in common"), std::string::npos);
    EXPECT_NE(out.str().find("No cells in common."), std::string::npos);
}

// ---- malformed and incompatible input -------------------------------------------------------

struct BadInput {
    const char* file;
    const char* message; // a part of the one-line error, naming the field
};

class CompareBadInput : public testing::TestWithParam<BadInput> {};

TEST_P(CompareBadInput, IsAUsageErrorNamingFileAndProblem) {
    const std::string path = data(std::string("malformed/") + GetParam().file);
    // Every problem shows when the report is read, as baseline and as candidate: the typed
    // reader takes every field it knows.
    std::vector<std::pair<std::string, std::string>> runs = {
        {path, path}, {path, data("baseline.json")}, {data("baseline.json"), path}};
    for (const auto& [a, b] : runs) {
        const std::string msg = usage_error(a, b);
        ASSERT_FALSE(msg.empty()) << "no error for " << a << " vs " << b;
        EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
        EXPECT_NE(msg.find(GetParam().message), std::string::npos) << msg;
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    EXPECT_THROW(load_report(path), UsageError);
}

INSTANTIATE_TEST_SUITE_P(
    Files, CompareBadInput,
    testing::Values(
        BadInput{"empty.json", "empty file"}, BadInput{"not-json.json", "not JSON (parse error"},
        BadInput{"truncated.json", "not JSON"},
        BadInput{"top-array.json", "not a copyscope report (a JSON array)"},
        BadInput{"no-schema.json", "not a copyscope report (\"schema\" is missing"},
        BadInput{"wrong-schema.json", "\"schema\" is 'iperf3', expected 'copyscope-report'"},
        BadInput{"newer-version.json", "schema_version 2 is newer than this copyscope reads (1)"},
        BadInput{"version-zero.json", "schema_version 0 is not a version"},
        BadInput{"version-string.json", "schema_version: expected an integer, got string"},
        BadInput{"no-cells.json", "missing \"cells\""},
        BadInput{"cells-object.json", "cells: expected an array, got object"},
        BadInput{"cell-not-object.json", "cells[0]: expected an object, got number"},
        BadInput{"cell-no-strategy.json", "cells[1]: missing \"strategy\""},
        BadInput{"cell-no-transport.json", "cells[1]: missing \"transport\""},
        BadInput{"cell-no-size.json", "cells[1]: missing \"message_size\""},
        BadInput{"cell-no-threads.json", "cells[1]: missing \"threads\""},
        BadInput{"cell-size-negative.json",
                 "cells[1].message_size: expected a count (an integer >= 0), got -"},
        BadInput{"cell-size-string.json",
                 "cells[1].message_size: expected a count (an integer >= 0), got string"},
        BadInput{"cell-strategy-number.json", "cells[1].strategy: expected a string"},
        BadInput{"cell-pattern-number.json", "cells[1].pattern: expected a string"},
        BadInput{"cell-passed-string.json", "cells[1].passed: expected true or false"},
        BadInput{"figure-string.json", "cells[1].ledger.copies_per_byte: expected a number"},
        BadInput{"ledger-number.json", "cells[1].ledger: expected an object, got number"},
        BadInput{"counters-derived-array.json",
                 "cells[1].counters.derived.thread: expected an object, got array"}),
    [](const testing::TestParamInfo<BadInput>& info) {
        std::string name = info.param.file;
        name = name.substr(0, name.find('.'));
        std::replace(name.begin(), name.end(), '-', '_');
        return name;
    });

// A trace report goes with a trace report only: one line naming both files, either order.
TEST(CompareBadInputFiles, TraceReportAgainstARunReport) {
    const std::string trace = data("malformed/trace-report.json"), run = data("baseline.json");
    for (const auto& [a, b] : {std::pair(trace, run), std::pair(run, trace)}) {
        const std::string msg = usage_error(a, b);
        EXPECT_EQ(msg, trace + ": a trace report, and " + run +
                           " is not: compare takes two run reports or two trace reports");
    }
    EXPECT_THROW(load_report(trace), UsageError); // not a run report
}

TEST(CompareBadInputFiles, MissingFileAndDirectory) {
    const std::string missing = data("no-such-report.json");
    std::string msg = usage_error(missing, data("baseline.json"));
    EXPECT_NE(msg.find(missing + ": cannot read"), std::string::npos) << msg;
    EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
    msg = usage_error(data("baseline.json"), data("malformed"));
    EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;
}

TEST(CompareBadInputFiles, BadThresholdStartsNothing) {
    // Checked before the files: a bad threshold is reported even with a missing file.
    std::string msg = usage_error(data("no-such-report.json"), data("baseline.json"), -5);
    EXPECT_NE(msg.find("--threshold -5"), std::string::npos) << msg;
    EXPECT_NE(
        usage_error(data("baseline.json"), data("baseline.json"), INFINITY).find("--threshold"),
        std::string::npos);
}

TEST(CompareValidate, AcceptsMinimalAndRealReports) {
    EXPECT_NO_THROW(read_report(report(json::array()), "r"));
    EXPECT_NO_THROW(read_report(report({cell("one-copy", 64)}), "r"));
    EXPECT_NO_THROW(load_report(data("real-traced.json")));
    EXPECT_NO_THROW(load_report(data("real-untraced.json")));
    json extra = report({cell("one-copy", 64)});
    extra["cells"][0]["some_future_field"] = {1, 2}; // unknown fields are ignored
    extra["some_future_section"] = "x";
    EXPECT_NO_THROW(read_report(extra, "r"));
}

// ---- the metric table ------------------------------------------------------------------------

const MetricDef& def(const std::string& name) {
    for (const MetricDef& d : metric_table())
        if (d.name == name) return d;
    throw std::runtime_error("no metric " + name);
}

TEST(CompareMetricTable, KeysAreUniqueAndEveryRowCanBeTaken) {
    std::set<std::string> names;
    for (const MetricDef& d : metric_table()) {
        EXPECT_TRUE(names.insert(d.name).second) << d.name;
        EXPECT_FALSE(d.label.empty()) << d.name;
        ASSERT_TRUE(d.extract) << d.name;
        EXPECT_EQ(d.has_ci, d.name == "gbit_per_second") << d.name;
        // An empty cell (nothing traced or measured) gives no number and no exception.
        const Figure f = d.extract(CellResult{});
        if (d.group != "throughput" && d.group != "latency" && d.group != "zerocopy")
            EXPECT_FALSE(f.is_number()) << d.name;
    }
}

// Every ledger byte figure and every derived counter figure of the model is a row: a figure
// added to the model's tables shows in compare without a change here.
TEST(CompareMetricTable, FollowsTheModelsTables) {
    for (const ByteFigureDef& b : byte_figures) {
        const MetricDef& d = def(std::string(b.key));
        EXPECT_EQ(d.group, "ledger");
        EXPECT_EQ(d.label, byte_figure_label(b.key));
        EXPECT_EQ(d.direction, byte_figure_direction(b.key));
    }
    for (const DerivedFigureDef& f : derived_figures) {
        EXPECT_EQ(def("thread." + std::string(f.key)).group, "counters");
        // The whole machine counts other work too: shown, never judged.
        EXPECT_EQ(def("system." + std::string(f.key)).direction, Direction::informational);
    }
    EXPECT_EQ(def("thread.cpu_seconds_per_gib").direction, Direction::lower_is_better);
    EXPECT_EQ(def("thread.context_switches_per_second").direction, Direction::informational);
    EXPECT_EQ(def("gbit_per_second").direction, Direction::higher_is_better);
}

TEST(CompareMetricTable, LabelsAndDirectionsOfByteFigures) {
    EXPECT_EQ(byte_figure_label("kernel_send_copy_bytes"), "kernel send copy /B");
    EXPECT_EQ(byte_figure_label("pinned_pages"), "pinned pages /MiB"); // a count, per MiB sent
    EXPECT_EQ(byte_figure_label("some_new_tap_bytes"), "some new tap /B");
    EXPECT_EQ(byte_figure_direction("deferred_copy_bytes"), Direction::lower_is_better);
    EXPECT_EQ(byte_figure_direction("zerocopy_pinned_bytes"), Direction::informational);
    EXPECT_EQ(byte_figure_direction("retransmit_bytes"), Direction::informational);
    EXPECT_EQ(byte_figure_direction("some_new_tap_bytes"), Direction::informational);
}

TEST(CompareMetricTable, LedgerFiguresPerByteSentAndPagesPerMiB) {
    CellResult c;
    c.app.bytes_sent = 4 << 20;
    Ledger L;
    L.app_bytes_sent = 2 << 20; // the ledger's own count wins over the cell's
    L.figures.deferred_copy_bytes = uint64_t{1} << 20;
    L.figures.pinned_pages = 512;
    L.figures.retransmit_bytes = Unsupported{"hook retransmits not planned"};
    c.ledger = L;
    EXPECT_DOUBLE_EQ(def("deferred_copy_bytes").extract(c).value, 0.5);
    EXPECT_DOUBLE_EQ(def("pinned_pages").extract(c).value, 256);
    const Figure r = def("retransmit_bytes").extract(c);
    EXPECT_EQ(r.kind, Figure::Kind::unsupported);
    EXPECT_EQ(r.why, "hook retransmits not planned");
    EXPECT_EQ(def("receive_copy_bytes").extract(c).why, "not measured"); // unsupported, not 0
    c.ledger->app_bytes_sent = 0;
    c.app.bytes_sent = 0;
    EXPECT_EQ(def("deferred_copy_bytes").extract(c).why, "no bytes were sent");
}

TEST(CompareMetricTable, TracerCostIsShownNeverJudged) {
    CellResult c;
    c.app.bytes_sent = 1000;
    EXPECT_EQ(def("bpf_cpu_percent").extract(c).kind, Figure::Kind::absent);
    c.tracer_cost = Measured<TracerCost>(Unsupported{"BPF_ENABLE_STATS: EPERM"});
    EXPECT_EQ(def("bpf_ns_per_byte").extract(c).why, "BPF_ENABLE_STATS: EPERM");
    TracerCost cost;
    cost.programs = {{"cs_recv", 10, 2000}};
    cost.seconds = 1;
    cost.cpus = 2;
    c.tracer_cost = cost;
    EXPECT_DOUBLE_EQ(def("bpf_ns_per_byte").extract(c).value, 2.0);
    EXPECT_DOUBLE_EQ(def("bpf_cpu_percent").extract(c).value, 100.0 * 2000e-9 / 2);
    EXPECT_EQ(def("bpf_cpu_percent").direction, Direction::informational);
    EXPECT_EQ(def("bpf_cpu_percent").unit, "%");
}

TEST(CompareMatch, PathsAreCellsOfTheirOwn) {
    nlohmann::json tcp = {
        {"strategy", "zero-copy"}, {"transport", "veth"}, {"message_size", 65536}, {"threads", 1}};
    nlohmann::json udp = tcp;
    udp["protocol"] = "udp";
    udp["udp_gso"] = 1472;
    nlohmann::json zcrx = tcp;
    zcrx["protocol"] = "tcp";
    zcrx["receive"] = "zerocopy";
    EXPECT_NE(cell_key(typed(tcp)), cell_key(typed(udp)));
    EXPECT_NE(cell_key(typed(tcp)), cell_key(typed(zcrx)));
    EXPECT_EQ(describe(cell_key(typed(udp))), "zero-copy veth 64KiB x1 udp gso 1472");
    EXPECT_EQ(describe(cell_key(typed(zcrx))), "zero-copy veth 64KiB x1 zerocopy-rx");
    EXPECT_EQ(to_json(cell_key(typed(tcp))).size(), 5u); // older reports' keys are unchanged
    EXPECT_EQ(to_json(cell_key(typed(udp)))["udp_gso"], 1472);
}

// ---- trace reports ------------------------------------------------------------------------
// Two real traces of Debian's iperf3 over loopback, 32 MiB each: without -Z (its data
// connection copied at send) and with -Z (sendfile: by reference).

namespace trace_fixtures {

TraceComparison copy_vs_sendfile() {
    const TraceReport a = read_trace_report(load_json(data("trace-copy.json")), "a");
    const TraceReport b = read_trace_report(load_json(data("trace-sendfile.json")), "b");
    return compare_traces(a, b, 5, "trace-copy.json", "trace-sendfile.json");
}

const TraceRowComparison* row(const TraceComparison& c, const std::string& where) {
    for (const TraceRowComparison& r : c.rows)
        if (r.where == where) return &r;
    return nullptr;
}

const MetricDelta* metric_of(const TraceRowComparison& r, const std::string& name) {
    for (const MetricDelta& m : r.metrics)
        if (m.name == name) return &m;
    return nullptr;
}

} // namespace trace_fixtures

// iperf3's control and data connections share the server's port: paired by bytes sent.
TEST(CompareTraces, ConnectionsMatchByCommAndServicePort) {
    const TraceComparison c = trace_fixtures::copy_vs_sendfile();
    ASSERT_NE(trace_fixtures::row(c, "scope"), nullptr);
    ASSERT_NE(trace_fixtures::row(c, "iperf3"), nullptr);
    const auto* data_conn = trace_fixtures::row(c, "iperf3 tcp port 5391 #1");
    const auto* control = trace_fixtures::row(c, "iperf3 tcp port 5391 #2");
    ASSERT_NE(data_conn, nullptr);
    ASSERT_NE(control, nullptr);
    EXPECT_TRUE(c.only_baseline.empty());
    EXPECT_TRUE(c.only_candidate.empty());
    const MetricDelta* sent = trace_fixtures::metric_of(*data_conn, "mib_sent");
    ASSERT_NE(sent, nullptr);
    EXPECT_GT(sent->a.value, 32.0); // 32 MiB and iperf3's 37-byte cookie
    EXPECT_LT(trace_fixtures::metric_of(*control, "mib_sent")->a.value, 0.01);
}

// Sendfile takes the send copy away: an improvement one way, a regression the other.
TEST(CompareTraces, SendfileImprovesTheSendCopyAndTheReverseRegresses) {
    const TraceComparison c = trace_fixtures::copy_vs_sendfile();
    const auto* data_conn = trace_fixtures::row(c, "iperf3 tcp port 5391 #1");
    ASSERT_NE(data_conn, nullptr);
    const MetricDelta* copy = trace_fixtures::metric_of(*data_conn, "kernel_send_copy_bytes");
    ASSERT_NE(copy, nullptr);
    EXPECT_NEAR(copy->a.value, 1.0, 1e-6);
    EXPECT_LT(copy->b.value, 1e-5); // iperf3 sends its 37-byte cookie with send()
    EXPECT_EQ(copy->movement, Movement::improved);
    const MetricDelta* by_ref = trace_fixtures::metric_of(*data_conn, "sent_by_reference_bytes");
    ASSERT_NE(by_ref, nullptr);
    EXPECT_NEAR(by_ref->b.value, 1.0, 1e-5);
    EXPECT_TRUE(c.regressions().empty());

    std::ostringstream out, err;
    EXPECT_EQ(
        run_compare({data("trace-copy.json"), data("trace-sendfile.json"), 5, false}, out, err), 0);
    EXPECT_NE(out.str().find("iperf3 tcp port 5391 #1"), std::string::npos) << out.str();
    std::ostringstream out2, err2;
    EXPECT_EQ(
        run_compare({data("trace-sendfile.json"), data("trace-copy.json"), 5, true}, out2, err2),
        1);
    const nlohmann::json j = nlohmann::json::parse(out2.str());
    EXPECT_EQ(j["schema"], "copyscope-trace-compare");
    bool named = false;
    for (const auto& r : j["regressions"])
        named |= r.get<std::string>().find("iperf3 tcp port 5391 #1: kernel send copy") == 0;
    EXPECT_TRUE(named) << j["regressions"].dump();
}

} // namespace
} // namespace copyscope
