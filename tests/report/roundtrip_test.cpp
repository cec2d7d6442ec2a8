// Reports read back through the typed model they are written from: real reports come back
// byte for byte as JSON values, and their summary table reads as the run printed it.
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "common/errors.h"
#include "report/doctor_json.h"
#include "report/report.h"
#include "report/summary.h"

namespace copyscope {
namespace {

const std::filesystem::path source_dir = COPYSCOPE_SOURCE_DIR;

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

nlohmann::json read_json(const std::filesystem::path& path) {
    return nlohmann::json::parse(read_file(path));
}

// Reports written by `copyscope run` (veth, loopback, forward, rr, nic to a local sink,
// untraced, repeated; see tests/report/data), with the summary table that run printed.
const char* const full_reports[] = {"stream-veth", "loopback-forward", "rr",
                                    "untraced",    "repeated",         "nic-local"};

// A JSON pointer with array indices and namespace roles as '*'.
std::string generic_path(const std::string& path) {
    std::string out;
    std::string part;
    auto flush = [&] {
        const bool index =
            !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
        out += index || out.ends_with("/by_namespace/") ? "*" : part;
        part.clear();
    };
    for (char c : path) {
        if (c == '/') {
            if (!out.empty() || !part.empty()) flush();
            out += '/';
        } else {
            part += c;
        }
    }
    flush();
    return out;
}

// What this version writes that the fixtures' version did not (their defaults: a tcp
// stream received by copy; counters and figures of hooks it did not have). Nothing else
// may differ.
bool added_since_fixtures(const std::string& path) {
    const std::string p = generic_path(path);
    static const std::set<std::string> added = {
        "/cells/*/protocol", "/cells/*/receive", "/cells/*/ledger/receive_mapped_bytes",
        "/cells/*/ledger/by_namespace/*/receive_mapped_bytes", "/cells/*/tracer_cost/bound"};
    if (added.count(p)) return true;
    const std::string raw = "/cells/*/ledger/by_namespace/*/raw/";
    return p.starts_with(raw + "udp_") || p.starts_with(raw + "zcrx_") ||
           p.starts_with(raw + "uring_notifs_classified") ||
           p.starts_with(raw + "uring_notifs_stacked");
}

TEST(RoundTrip, RealReportsComeBackUnchanged) {
    for (const char* name : full_reports) {
        const nlohmann::json j =
            read_json(source_dir / "tests/report/data" / (std::string(name) + ".json"));
        const Report r = report_from_json(j);
        const nlohmann::json again = to_json(r);
        for (const nlohmann::json& op : nlohmann::json::diff(j, again)) {
            const std::string path = op["path"].get<std::string>();
            EXPECT_TRUE(op["op"] == "add" && added_since_fixtures(path))
                << name << ": " << op.dump();
        }
        // Typed all the way: reading the written report gives the same value.
        const Report r2 = report_from_json(again);
        ASSERT_EQ(r2.cells.size(), r.cells.size()) << name;
        for (size_t i = 0; i < r.cells.size(); ++i)
            EXPECT_EQ(r2.cells[i], r.cells[i]) << name << " cell " << i;
    }
}

TEST(RoundTrip, SummaryTableReadsAsTheRunPrintedIt) {
    for (const char* name : full_reports) {
        const std::filesystem::path dir = source_dir / "tests/report/data";
        const Report r = report_from_json(read_json(dir / (std::string(name) + ".json")));
        EXPECT_EQ(summary_table(r.cells), read_file(dir / (std::string(name) + ".summary.txt")))
            << name;
    }
}

// Every value `expected` holds must be in `got`, at the same place; where not, the path.
void missing_from(const nlohmann::json& expected, const nlohmann::json& got,
                  const std::string& path, std::set<std::string>& differ) {
    if (expected.is_object() && got.is_object()) {
        for (auto it = expected.begin(); it != expected.end(); ++it) {
            if (!got.contains(it.key()))
                differ.insert(path + "/" + it.key());
            else
                missing_from(it.value(), got.at(it.key()), path + "/" + it.key(), differ);
        }
    } else if (expected.is_array() && got.is_array() && expected.size() == got.size()) {
        for (size_t i = 0; i < expected.size(); ++i)
            missing_from(expected[i], got[i], path + "/*", differ);
    } else if (expected != got) {
        differ.insert(path);
    }
}

// The fixtures of compare and plot were trimmed by hand from real reports (throughput
// samples, event counts and more taken out): they read, and all they hold comes back, but
// for the figures a report derives from what was trimmed away. What was trimmed comes back
// as the writer writes it for a figure it lacks (absent, or unsupported: not_in_report).
TEST(RoundTrip, TrimmedReportsKeepWhatTheyHold) {
    const std::set<std::string> derived = {
        "/cells/*/gbit_per_second",          // from the samples or bytes and seconds
        "/cells/*/counters/summary",         // from the event counts
        "/cells/*/messages_per_second",      // from messages and seconds
        "/cells/*/microseconds_per_message", // likewise
        "/cells/*/repetitions",              // the number of samples
        "/cells/*/throughput/mean",          // statistics over the samples
        "/cells/*/throughput/stddev",
        "/cells/*/throughput/ci95_low",
        "/cells/*/throughput/ci95_high",
        "/cells/*/throughput/ci95_relative",
    };
    for (const char* file :
         {"tests/compare/data/real-traced.json", "tests/compare/data/real-untraced.json",
          "tests/compare/data/baseline.json", "tests/compare/data/candidate.json",
          "tests/plot/data/rr.json", "tests/plot/data/stream.json"}) {
        const nlohmann::json j = read_json(source_dir / file);
        const nlohmann::json again = to_json(report_from_json(j));
        std::set<std::string> differ;
        missing_from(j, again, "", differ);
        for (const std::string& path : differ)
            EXPECT_TRUE(derived.count(path)) << file << ": " << path << " not reproduced";
    }
}

TEST(Summary, PathsAreNamedInTheStrategyColumn) {
    CellResult udp, zcrx;
    udp.spec.strategy = Strategy::zero_copy;
    udp.spec.protocol = Protocol::udp;
    udp.spec.udp_gso = 1472;
    zcrx.spec.strategy = Strategy::one_copy;
    zcrx.spec.receive = Receive::zerocopy;
    const std::string table = summary_table({udp, zcrx});
    EXPECT_NE(table.find("zero-copy udp gso 1472"), std::string::npos) << table;
    EXPECT_NE(table.find("one-copy zerocopy-rx"), std::string::npos) << table;
}

nlohmann::json minimal_report() {
    return {{"schema", "copyscope-report"},
            {"schema_version", 1},
            {"cells",
             {{{"strategy", "one-copy"},
               {"transport", "veth"},
               {"message_size", 4096},
               {"threads", 1}}}}};
}

std::string error_of(const nlohmann::json& j) {
    try {
        report_from_json(j);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(ReadBack, NewerSchemaIsRefused) {
    nlohmann::json j = minimal_report();
    EXPECT_EQ(error_of(j), "(no error)");
    j["schema_version"] = 2;
    EXPECT_EQ(error_of(j), "report: schema_version 2 is newer than this copyscope reads (1); read "
                           "it with the copyscope that wrote it, or a newer one");
}

TEST(ReadBack, ForeignOrMalformedReportsSayWhatAndWhere) {
    nlohmann::json j = minimal_report();
    j["schema"] = "something-else";
    EXPECT_NE(error_of(j).find("not a copyscope report"), std::string::npos) << error_of(j);
    j = minimal_report();
    j["cells"][0]["message_size"] = "4K";
    EXPECT_EQ(error_of(j), "cells[0].message_size: expected a count (an integer >= 0), got string");
    j = minimal_report();
    j["cells"][0].erase("strategy");
    EXPECT_EQ(error_of(j), "cells[0]: missing \"strategy\"");
    j = minimal_report();
    j["cells"][0]["ledger"] = {{"copies_per_byte", {{"unsupported", 3}}}};
    EXPECT_EQ(error_of(j), "cells[0].ledger.copies_per_byte.unsupported: expected a string, got "
                           "number");
    j = minimal_report();
    j["cells"][0]["ledger"] = {{"hooks", {{"send", {{"mechanism", "uprobe"}}}}}};
    EXPECT_EQ(error_of(j), "cells[0].ledger.hooks.send.mechanism: unknown hook mechanism 'uprobe'");
}

TEST(ReadBack, AbsentFiguresAreUnsupportedNeverZero) {
    nlohmann::json j = minimal_report();
    j["cells"][0]["ledger"] = {{"copies_per_byte", 2.0}};
    const Report r = report_from_json(j);
    ASSERT_TRUE(r.cells[0].ledger);
    const Ledger& L = *r.cells[0].ledger;
    EXPECT_EQ(*L.copies_per_byte, 2.0);
    EXPECT_FALSE(L.figures.deferred_copy_bytes);
    EXPECT_EQ(L.figures.deferred_copy_bytes.reason(), not_in_report);
    EXPECT_EQ(r.extra, nlohmann::json::object());
}

TEST(ReadBack, FiguresTakeTheEvidenceOfTheirHook) {
    nlohmann::json j = minimal_report();
    j["cells"][0]["ledger"] = {
        {"hooks",
         {{"deferred_copy", {{"mechanism", "inferred"}, {"count", "inferred"}, {"targets", {"a"}}}},
          {"send", {{"mechanism", "fexit"}, {"count", "exact"}, {"targets", {"b"}}}}}},
        {"deferred_copy_bytes", 10},
        {"kernel_send_copy_bytes", 20}};
    const Ledger L = *report_from_json(j).cells[0].ledger;
    EXPECT_EQ(L.figures.deferred_copy_bytes.evidence(), Evidence::inferred);
    EXPECT_EQ(L.figures.deferred_copy_bytes.source(), hook_deferred);
    EXPECT_EQ(L.figures.kernel_send_copy_bytes.evidence(), Evidence::exact);
    ASSERT_EQ(L.hooks.size(), 2u);
    EXPECT_EQ(L.hooks[0].hook, hook_send); // in the tracer's order
}

TEST(DoctorJson, TracerDoctorAsBefore) {
    TracerDoctor d;
    d.kernel = KernelFeatures{.release = "6.18.0-test",
                              .btf = true,
                              .btf_detail = "/sys/kernel/btf/vmlinux",
                              .lockdown = "integrity",
                              .tracefs = "mounted at /sys/kernel/tracing",
                              .kprobes = false,
                              .bpf = {true, ""},
                              .cgroup_getsockopt = {true, ""},
                              .fentry = {},
                              .fexit = {},
                              .tp_btf = {}};
    DoctorHook h{"retransmits",
                 "bytes TCP sent again",
                 {},
                 HookMechanism::tp_btf,
                 Unsupported{"no usable form: x"}};
    h.forms.push_back(
        {HookMechanism::tp_btf, {"tcp_retransmit_skb"}, Evidence::exact, true, "skb->len", ""});
    h.forms.push_back({HookMechanism::fexit, {"a|b"}, Evidence::inferred, false, "n", "why"});
    d.hooks = {h};
    const nlohmann::json expected = nlohmann::json::parse(R"json({
      "kernel_release": "6.18.0-test",
      "btf": {"present": true, "detail": "/sys/kernel/btf/vmlinux"},
      "lockdown": "integrity", "tracefs": "mounted at /sys/kernel/tracing", "kprobes": false,
      "bpf": {"can_load": true, "reason": ""},
      "hooks": [{"hook": "retransmits", "what": "bytes TCP sent again",
                 "forms": [{"mechanism": "tp_btf", "targets": ["tcp_retransmit_skb"],
                            "count": "exact", "available": true, "note": "skb->len"},
                           {"mechanism": "fexit", "targets": ["a|b"], "count": "inferred",
                            "available": false, "note": "n", "reason": "why"}],
                 "chosen": {"auto": "tp_btf",
                            "prefer-tracepoints": {"unsupported": "no usable form: x"}}}]})json");
    EXPECT_EQ(to_json(d), expected) << to_json(d).dump(2);
}

TEST(DoctorJson, CounterDoctorAsBefore) {
    CounterDoctor d;
    d.pmus = {{"cpu", 4}};
    d.events = {{"cycles", "hardware", {false, "ENOENT (x)"}, {true, ""}}};
    const nlohmann::json expected = nlohmann::json::parse(R"json({
      "pmus": [{"name": "cpu", "type": 4}], "hybrid": false, "perf_event_paranoid": null,
      "events": [{"name": "cycles", "kind": "hardware",
                  "thread": {"supported": false, "reason": "ENOENT (x)"},
                  "system": {"supported": true}}]})json");
    EXPECT_EQ(to_json(d), expected) << to_json(d).dump(2);
}

} // namespace
} // namespace copyscope
