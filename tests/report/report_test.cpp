#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "common/errors.h"
#include "report/report.h"
#include "report/summary.h"

using namespace copyscope;

namespace {

CellResult zero_copy_cell() {
    CellResult c;
    c.spec.strategy = Strategy::zero_copy;
    c.spec.message_size = 65536;
    c.spec.threads = 2;
    c.spec.bytes = 1 << 20;
    c.spec.verify_payload = true;
    c.seconds = 0.5;
    c.app.bytes_sent = c.app.bytes_received = 1 << 20;
    c.app.messages_sent = 16;
    c.app.send_calls = 16;
    c.zerocopy = ZerocopyStats{16, 16, 16, 3, 1, 0};
    c.checks.push_back({"bytes_received_equal_sent", true, "equal", std::nullopt, ""});
    return c;
}

} // namespace

TEST(Report, CellSerialisation) {
    nlohmann::json j = to_json(zero_copy_cell());
    EXPECT_EQ(j["strategy"], "zero-copy");
    EXPECT_EQ(j["transport"], "veth");
    EXPECT_EQ(j["message_size"], 65536);
    EXPECT_EQ(j["threads"], 2);
    EXPECT_EQ(j["bytes_requested"], 1 << 20);
    EXPECT_FALSE(j.contains("duration_requested_seconds"));
    EXPECT_EQ(j["bytes_sent"], 1 << 20);
    EXPECT_DOUBLE_EQ(j["gbit_per_second"].get<double>(), (1 << 20) * 8 / 0.5 / 1e9);
    EXPECT_DOUBLE_EQ(j["messages_per_second"].get<double>(), 32.0);
    EXPECT_DOUBLE_EQ(j["microseconds_per_message"].get<double>(), 0.5e6 / 16);
    EXPECT_EQ(j["zerocopy"]["completions_copied"], 16);
    EXPECT_EQ(j["zerocopy"]["enobufs"], 1);
    EXPECT_EQ(j["zerocopy"]["missing_completions"], 0);
    EXPECT_EQ(j["checks"][0]["name"], "bytes_received_equal_sent");
    EXPECT_TRUE(j["passed"]);
    EXPECT_TRUE(j["error"].is_null());
    EXPECT_EQ(j["payload_errors"], 0);
}

TEST(Report, AFailedCheckFailsTheCell) {
    CellResult c = zero_copy_cell();
    c.checks.push_back({"zerocopy_all_completions", false, "15 of 16", std::nullopt, ""});
    EXPECT_FALSE(c.passed());
    EXPECT_FALSE(to_json(c)["passed"]);
    EXPECT_NE(summary_table({c}).find("CHECK FAILED: zerocopy_all_completions"), std::string::npos);
}

TEST(Report, DocumentHasSchemaHostAndCells) {
    Report r;
    r.host = HostInfo{"6.18.0", "Some CPU", 2, true, "integrity"};
    r.command_line = {"copyscope", "run"};
    r.started_at = "2026-01-01T00:00:00Z";
    r.cells.push_back(zero_copy_cell());
    nlohmann::json j = to_json(r);
    EXPECT_EQ(j["schema"], "copyscope-report");
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["tool"]["name"], "copyscope");
    EXPECT_EQ(j["host"]["kernel_release"], "6.18.0");
    EXPECT_EQ(j["host"]["lockdown"], "integrity");
    EXPECT_EQ(j["command_line"][1], "run");
    EXPECT_TRUE(j["complete"]);
    EXPECT_FALSE(j.contains("interrupted"));
    ASSERT_EQ(j["cells"].size(), 1u);
    r.complete = false;
    r.interrupted_reason = "stopped by Interrupt";
    EXPECT_EQ(to_json(r)["interrupted"], "stopped by Interrupt");
}

TEST(Report, AtomicWriteReplacesWholeAndLeavesNoTemporary) {
    auto dir =
        std::filesystem::temp_directory_path() / ("copyscope-report-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    auto path = (dir / "r.json").string();
    write_file_atomically(path, "{\"a\": 1}\n");
    write_file_atomically(path, "{\"b\": 2}\n");
    std::ifstream in(path);
    EXPECT_EQ(nlohmann::json::parse(in)["b"], 2);
    size_t files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir))
        (void)e, ++files;
    EXPECT_EQ(files, 1u);
    std::filesystem::remove_all(dir);
}

TEST(Report, OutputPathChecks) {
    EXPECT_THROW(check_output_path("/no/such/dir/r.json"), UsageError);
    EXPECT_THROW(check_output_path(std::filesystem::temp_directory_path().string()), UsageError);
    EXPECT_THROW(check_output_path(""), UsageError);
    EXPECT_NO_THROW(check_output_path("report.json"));
}

TEST(Summary, SizesAndUnsupportedLedger) {
    EXPECT_EQ(format_size(64), "64");
    EXPECT_EQ(format_size(4096), "4KiB");
    EXPECT_EQ(format_size(1 << 20), "1MiB");
    EXPECT_EQ(format_size(1000), "1000");
    CellResult c = zero_copy_cell();
    Ledger ledger;
    ledger.copies_per_byte = Unsupported{"no BPF"};
    ledger.verdict = "not effective";
    c.ledger = ledger;
    std::string table = summary_table({c});
    EXPECT_NE(table.find("unsupported"), std::string::npos);
    EXPECT_NE(table.find("not effective"), std::string::npos);
}

// The tracer's cost: per program in the report, its share in a column of its own (only when
// some cell was traced), and read back as written.
TEST(TracerCostReport, SectionColumnAndReadBack) {
    CellResult traced = zero_copy_cell();
    TracerCost cost;
    cost.programs = {{"cs_send_tp_msg", 16, 4000}, {"cs_recv", 32, 6000}, {"cs_retrans", 0, 0}};
    cost.seconds = 0.5;
    cost.cpus = 2;
    traced.tracer_cost = cost;
    const nlohmann::json j = to_json(traced)["tracer_cost"];
    EXPECT_EQ(j["run_count"], 48);
    EXPECT_EQ(j["run_time_ns"], 10000);
    EXPECT_EQ(j["programs"][1]["name"], "cs_recv");
    EXPECT_DOUBLE_EQ(j["programs"][1]["ns_per_run"].get<double>(), 187.5);
    EXPECT_TRUE(j["programs"][2]["ns_per_run"].is_null()); // never ran: no per-run figure
    EXPECT_DOUBLE_EQ(j["ns_per_byte"].get<double>(), 10000.0 / (1 << 20));
    EXPECT_DOUBLE_EQ(j["cpu_seconds"].get<double>(), 1.0); // no counters: 0.5 s x 2 CPUs
    EXPECT_DOUBLE_EQ(j["cpu_percent"].get<double>(), 1e-3);
    EXPECT_NE(j["cpu_basis"].get<std::string>().find("wall time x 2 CPUs"), std::string::npos);

    nlohmann::json doc = to_json(Report{});
    doc["cells"] = {to_json(traced)};
    EXPECT_EQ(*report_from_json(doc).cells[0].tracer_cost, traced.tracer_cost);

    CellResult refused = zero_copy_cell();
    refused.tracer_cost = Measured<TracerCost>(Unsupported{"BPF_ENABLE_STATS: EPERM"});
    EXPECT_EQ(to_json(refused)["tracer_cost"],
              nlohmann::json({{"unsupported", "BPF_ENABLE_STATS: EPERM"}}));

    const std::string table = summary_table({traced, refused, zero_copy_cell()});
    EXPECT_NE(table.find("bpf %cpu"), std::string::npos) << table;
    EXPECT_NE(table.find("0.00%"), std::string::npos) << table;
    EXPECT_NE(table.find("* bpf %cpu: BPF_ENABLE_STATS: EPERM"), std::string::npos) << table;
    EXPECT_NE(table.find("* bpf %cpu: share of wall time x 2 CPUs"), std::string::npos) << table;
    EXPECT_EQ(summary_table({zero_copy_cell()}).find("bpf %cpu"), std::string::npos);
}
