#include "report/report.h"

#include "report/counters_json.h"
#include "report/ledger_json.h"
#include "stats/stats.h"

namespace copyscope {
namespace {

using nlohmann::json;

json throughput_json(const CellResult& cell) {
    const CellSpec& s = cell.spec;
    const Summary st = summarize(cell.throughput.samples);
    json t;
    t["unit"] = "Gbit/s";
    t["samples"] = cell.throughput.samples;
    t["mean"] = st.mean;
    t["stddev"] = st.stddev;
    bool have_ci = st.n >= 2;
    t["ci95_low"] = have_ci ? json(st.mean - st.ci95_half) : json(nullptr);
    t["ci95_high"] = have_ci ? json(st.mean + st.ci95_half) : json(nullptr);
    t["ci95_relative"] = have_ci ? json(st.ci95_relative) : json(nullptr);
    t["precision_target"] = s.precision;
    // Only a cell that may repeat can converge; a single repetition has no interval.
    t["converged"] = s.max_repetitions > 1 ? json(cell.throughput.converged) : json(nullptr);
    t["warmup_seconds"] = s.warmup_seconds;
    return t;
}

json spec_json(const CellSpec& s) {
    json j;
    j["strategy"] = to_string(s.strategy);
    j["transport"] = to_string(s.transport);
    if (s.transport == Transport::nic) j["peer"] = s.peer;
    j["message_size"] = s.message_size;
    j["threads"] = s.threads;
    if (s.duration_seconds > 0) j["duration_requested_seconds"] = s.duration_seconds;
    if (s.bytes > 0) j["bytes_requested"] = s.bytes;
    j["verify_payload"] = s.verify_payload;
    j["pattern"] = to_string(s.pattern);
    return j;
}

} // namespace

json to_json(const HostInfo& host) {
    return {{"kernel_release", host.kernel_release},
            {"cpu_model", host.cpu_model},
            {"cores", host.cores},
            {"btf_present", host.btf_present},
            {"lockdown", host.lockdown}};
}

json to_json(const CellResult& cell) {
    const CellSpec& s = cell.spec;
    json j = spec_json(s);
    j["repetitions"] = cell.throughput.samples.size();
    j["seconds"] = cell.seconds;
    j["bytes_sent"] = cell.app.bytes_sent;
    j["bytes_received"] = cell.app.bytes_received;
    j["messages"] = cell.app.messages_sent;
    j["send_calls"] = cell.app.send_calls;
    j["user_copy_bytes"] = cell.app.user_copy_bytes;
    j["gbit_per_second"] = cell.gbits_per_second();
    j["messages_per_second"] = cell.messages_per_second();
    j["microseconds_per_message"] = cell.microseconds_per_message();
    if (s.verify_payload) j["payload_errors"] = cell.app.payload_errors;
    if (s.pattern == Pattern::rr) j["response_bytes"] = cell.app.response_bytes;
    j["throughput"] = throughput_json(cell);
    if (cell.latency) {
        const LatencyStats& l = *cell.latency;
        j["latency"] = {{"unit", "us"},    {"round_trips", l.round_trips},
                        {"p50_us", l.p50}, {"p90_us", l.p90},
                        {"p99_us", l.p99}, {"p999_us", l.p999},
                        {"max_us", l.max}, {"mean_us", l.mean}};
    }
    if (cell.zerocopy) j["zerocopy"] = to_json(*cell.zerocopy, "missing_completions");
    json checks = json::array();
    for (const Check& c : cell.checks)
        checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
    j["checks"] = checks;
    j["passed"] = cell.passed();
    j["error"] = cell.error.empty() ? json(nullptr) : json(cell.error);
    j["ledger"] = cell.ledger ? to_json(*cell.ledger) : json(nullptr);
    j["counters"] = cell.counters ? to_json(*cell.counters) : json(nullptr);
    return j;
}

json to_json(const Report& report) {
    json j;
    j["schema"] = report_schema;
    j["schema_version"] = report_schema_version;
    j["tool"] = {{"name", "copyscope"}, {"version", COPYSCOPE_VERSION}};
    j["host"] = to_json(report.host);
    j["command_line"] = report.command_line;
    j["started_at"] = report.started_at;
    j["complete"] = report.complete;
    if (!report.complete) j["interrupted"] = report.interrupted_reason;
    for (auto& [key, value] : report.extra.items())
        j[key] = value;
    json cells = json::array();
    for (const CellResult& c : report.cells)
        cells.push_back(to_json(c));
    j["cells"] = cells;
    return j;
}

} // namespace copyscope
