// The CSV is built from the cell JSON: every column must carry the JSON's value.
#include <gtest/gtest.h>

#include <sstream>

#include "report/csv.h"
#include "report/report.h"

using namespace copyscope;

namespace {

std::vector<std::string> split_line(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
                cur += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                cur += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    out.push_back(cur);
    return out;
}

CellResult cell() {
    CellResult c;
    c.spec.strategy = Strategy::zero_copy;
    c.spec.message_size = 4096;
    c.spec.threads = 2;
    c.spec.duration_seconds = 0.3;
    c.spec.max_repetitions = 10;
    c.seconds = 0.9;
    c.app.bytes_sent = c.app.bytes_received = 3u << 20;
    c.app.messages_sent = 768;
    c.throughput.samples = {9.0, 10.0, 11.0};
    c.throughput.converged = false;
    c.zerocopy = ZerocopyStats{768, 768, 768, 4, 0, 0};
    Ledger ledger;
    ledger.copies_per_byte = 2.0;
    ledger.deferred_copy_percent = 100.0;
    ledger.verdict = "MSG_ZEROCOPY not effective on veth, really";
    ledger.figures.kernel_send_copy_bytes = 0;
    c.ledger = ledger;
    DerivedFigures derived;
    derived.cpu_seconds_per_gib = 1.5;
    derived.cycles_per_byte = Unsupported{"ENOENT"};
    CounterResult counters;
    counters.derived_thread = derived;
    c.counters = counters;
    TracerCost cost;
    cost.programs = {{"cs_recv", 100, 3u << 20}};
    cost.seconds = 1;
    cost.cpus = 2;
    c.tracer_cost = cost;
    return c;
}

} // namespace

TEST(Csv, ColumnsMatchTheJson) {
    nlohmann::json cells = nlohmann::json::array({to_json(cell())});
    std::istringstream in(cells_to_csv(cells));
    std::string header, row, extra;
    std::getline(in, header);
    std::getline(in, row);
    EXPECT_FALSE(std::getline(in, extra) && !extra.empty());
    auto names = split_line(header);
    auto values = split_line(row);
    ASSERT_EQ(names.size(), csv_columns().size());
    ASSERT_EQ(values.size(), names.size());
    const nlohmann::json& j = cells[0];
    for (size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(names[i], csv_columns()[i].name);
        nlohmann::json::json_pointer ptr(csv_columns()[i].pointer);
        if (!j.contains(ptr) || j.at(ptr).is_null()) {
            EXPECT_EQ(values[i], "") << names[i];
        } else if (j.at(ptr).is_number()) {
            EXPECT_DOUBLE_EQ(std::stod(values[i]), j.at(ptr).get<double>()) << names[i];
        } else if (j.at(ptr).is_string()) {
            EXPECT_EQ(values[i], j.at(ptr).get<std::string>()) << names[i];
        }
    }
    auto at = [&](const std::string& name) {
        for (size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) return values[i];
        return std::string("<no column>");
    };
    EXPECT_EQ(at("strategy"), "zero-copy");
    EXPECT_EQ(at("message_size_bytes"), "4096");
    EXPECT_EQ(at("repetitions"), "3");
    EXPECT_EQ(at("converged"), "false");
    EXPECT_DOUBLE_EQ(std::stod(at("throughput_mean_gbit_per_s")), 10.0);
    EXPECT_DOUBLE_EQ(std::stod(at("throughput_stddev_gbit_per_s")), 1.0);
    EXPECT_EQ(at("cycles_per_byte"), "unsupported");
    EXPECT_EQ(at("cpu_seconds_per_gib"), "1.5");
    EXPECT_EQ(at("latency_p99_us"), ""); // a stream has no round trips
    EXPECT_EQ(at("verdict"), "MSG_ZEROCOPY not effective on veth, really");
    EXPECT_EQ(at("bpf_ns_per_byte"), "1.0");
    EXPECT_DOUBLE_EQ(std::stod(at("bpf_cpu_percent")), 100.0 * (3u << 20) * 1e-9 / 2);
    EXPECT_EQ(at("bpf_cpu_basis"), "wall time x 2 CPUs (system CPU time not measured)");
}

TEST(Csv, AFigureInAnUnsupportedSectionIsUnsupported) {
    CellResult c = cell();
    c.tracer_cost = Measured<TracerCost>(Unsupported{"BPF_ENABLE_STATS: EPERM"});
    const nlohmann::json j = to_json(c);
    EXPECT_EQ(csv_value(j, "/tracer_cost/cpu_percent"), "unsupported");
    c.tracer_cost.reset(); // untraced: does not apply
    EXPECT_EQ(csv_value(to_json(c), "/tracer_cost/cpu_percent"), "");
}

TEST(Csv, UnitsAreInTheColumnNames) {
    for (const CsvColumn& c : csv_columns()) {
        bool has_unit = c.name.find("bytes") != std::string::npos ||
                        c.name.find("_us") != std::string::npos ||
                        c.name.find("per_") != std::string::npos ||
                        c.name.find("seconds") != std::string::npos ||
                        c.name.find("percent") != std::string::npos ||
                        c.name.find("relative") != std::string::npos ||
                        c.name.find("pages") != std::string::npos;
        bool unitless =
            c.name == "strategy" || c.name == "transport" || c.name == "pattern" ||
            c.name == "threads" || c.name == "repetitions" || c.name == "converged" ||
            c.name == "messages" || c.name == "send_calls" || c.name == "passed" ||
            c.name == "verdict" || c.name == "bpf_cpu_basis" || c.name.rfind("zerocopy_", 0) == 0 ||
            c.name.rfind("io_uring_", 0) == 0 || c.name.rfind("sendfile_", 0) == 0 ||
            c.name == "protocol" || c.name == "receive" || c.name.rfind("udp_datagrams_", 0) == 0 ||
            c.name == "udp_cork" || c.name == "tx_checksum" || c.name == "udp_fallback_cause";
        EXPECT_TRUE(has_unit || unitless) << c.name;
    }
}
