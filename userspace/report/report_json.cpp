#include "report/report.h"

#include "report/counters_json.h"
#include "report/ledger_json.h"
#include "report/tracer_cost_json.h"
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
    j["protocol"] = to_string(s.protocol);
    if (s.protocol == Protocol::udp) {
        j["udp_gso"] = s.udp_gso;
        j["udp_cork"] = s.udp_cork;
        j["tx_checksum"] = s.tx_checksum_off ? "off" : "on";
    }
    j["receive"] = to_string(s.receive);
    return j;
}

CellSpec spec_from_json(const JsonIn& j) {
    CellSpec s;
    s.strategy = j.at("strategy").as_enum<Strategy>(strategy_from_string, "strategy");
    s.transport = j.at("transport").as_enum<Transport>(transport_from_string, "transport");
    s.peer = j.get_or<std::string>("peer", "");
    s.message_size = j.get<uint64_t>("message_size");
    s.threads = j.get<unsigned>("threads");
    s.duration_seconds = j.get_or("duration_requested_seconds", 0.0);
    s.bytes = j.get_or<uint64_t>("bytes_requested", 0);
    s.verify_payload = j.get_or("verify_payload", false);
    if (j.has("pattern"))
        s.pattern = j.at("pattern").as_enum<Pattern>(pattern_from_string, "pattern");
    if (j.has("protocol"))
        s.protocol = j.at("protocol").as_enum<Protocol>(protocol_from_string, "protocol");
    s.udp_gso = j.get_or<uint32_t>("udp_gso", 0);
    s.udp_cork = j.get_or("udp_cork", false);
    s.tx_checksum_off = j.get_or<std::string>("tx_checksum", "on") == "off";
    if (j.has("receive"))
        s.receive = j.at("receive").as_enum<Receive>(receive_from_string, "receive");
    return s;
}

// The throughput samples, and what the spec said of repeating: the report keeps the
// precision and warm-up, and whether the cell could converge at all (converged: null when
// it ran once by design).
void throughput_from_json(const JsonIn& t, CellResult& c) {
    c.throughput.samples = t.get_or<std::vector<double>>("samples", {});
    c.spec.precision = t.get_or("precision_target", c.spec.precision);
    c.spec.warmup_seconds = t.get_or("warmup_seconds", 0.0);
    if (auto converged = t.optional<bool>("converged")) {
        c.throughput.converged = *converged;
        c.spec.max_repetitions =
            std::max<unsigned>(2, static_cast<unsigned>(c.throughput.samples.size()));
    }
}

void app_from_json(const JsonIn& j, AppCounts& a) {
    a.bytes_sent = j.get_or<uint64_t>("bytes_sent", 0);
    a.bytes_received = j.get_or<uint64_t>("bytes_received", 0);
    a.messages_sent = j.get_or<uint64_t>("messages", 0);
    a.send_calls = j.get_or<uint64_t>("send_calls", 0);
    a.user_copy_bytes = j.get_or<uint64_t>("user_copy_bytes", 0);
    a.payload_errors = j.get_or<uint64_t>("payload_errors", 0);
    a.response_bytes = j.get_or<uint64_t>("response_bytes", 0);
    if (j.has("udp")) {
        const JsonIn u = j.at("udp");
        a.datagrams_sent = u.get_or<uint64_t>("datagrams_sent", 0);
        a.datagrams_received = u.get_or<uint64_t>("datagrams_received", 0);
        a.datagrams_dropped = u.get_or<uint64_t>("datagrams_dropped", 0);
        a.bytes_dropped = u.get_or<uint64_t>("bytes_dropped", 0);
        if (u.has("namespace")) {
            const JsonIn n = u.at("namespace");
            a.namespace_udp_rcvbuf_errors = n.get_or<uint64_t>("udp_rcvbuf_errors", 0);
            a.namespace_udp_in_errors = n.get_or<uint64_t>("udp_in_errors", 0);
            a.device_rx_dropped_packets = n.get_or<uint64_t>("device_rx_dropped_packets", 0);
        }
    }
    if (j.has("receive_zerocopy")) {
        const JsonIn z = j.at("receive_zerocopy");
        a.receive_mapped_bytes = z.get_or<uint64_t>("mapped_bytes", 0);
        a.receive_copied_bytes = z.get_or<uint64_t>("copied_bytes", 0);
    }
}

LatencyStats latency_from_json(const JsonIn& j) {
    LatencyStats l;
    l.round_trips = j.get_or<uint64_t>("round_trips", 0);
    l.p50 = j.get_or("p50_us", 0.0);
    l.p90 = j.get_or("p90_us", 0.0);
    l.p99 = j.get_or("p99_us", 0.0);
    l.p999 = j.get_or("p999_us", 0.0);
    l.max = j.get_or("max_us", 0.0);
    l.mean = j.get_or("mean_us", 0.0);
    return l;
}

void refuse_foreign(const JsonIn& j) {
    if (!j.json().is_object())
        j.fail(std::string("not a copyscope report (a JSON ") + j.json().type_name() + ")");
    const std::string schema = j.get_or<std::string>("schema", "");
    if (schema == "copyscope-trace")
        j.fail("a copyscope trace report, not a report of copyscope run ('" +
               std::string(report_schema) + "')");
    if (schema != report_schema)
        j.fail("not a copyscope report (\"schema\" is " +
               (schema.empty() ? std::string("missing") : "'" + schema + "'") + ", expected '" +
               report_schema + "')");
    const int version = j.get<int>("schema_version");
    if (version > report_schema_version)
        j.fail("schema_version " + std::to_string(version) +
               " is newer than this copyscope reads (" + std::to_string(report_schema_version) +
               "); read it with the copyscope that wrote it, or a newer one");
    if (version < 1) j.fail("schema_version " + std::to_string(version) + " is not a version");
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
    if (s.protocol == Protocol::udp) {
        const AppCounts& a = cell.app;
        const double lost =
            a.bytes_sent ? 100.0 * double(a.bytes_dropped) / double(a.bytes_sent) : 0;
        j["udp"] = {{"datagrams_sent", a.datagrams_sent},
                    {"datagrams_received", a.datagrams_received},
                    {"datagrams_dropped", a.datagrams_dropped},
                    {"dropped_by", "the receiving sockets' drop counters (SO_MEMINFO)"},
                    {"bytes_dropped", a.bytes_dropped},
                    {"lost_percent", lost},
                    {"namespace",
                     {{"udp_rcvbuf_errors", a.namespace_udp_rcvbuf_errors},
                      {"udp_in_errors", a.namespace_udp_in_errors},
                      {"device_rx_dropped_packets", a.device_rx_dropped_packets}}}};
    }
    if (s.receive == Receive::zerocopy) {
        const AppCounts& a = cell.app;
        const double mapped =
            a.bytes_received ? 100.0 * double(a.receive_mapped_bytes) / double(a.bytes_received)
                             : 0;
        j["receive_zerocopy"] = {
            {"mapped_bytes", a.receive_mapped_bytes},
            {"copied_bytes", a.receive_copied_bytes},
            {"mapped_percent", mapped},
            {"counted_by", "the receiver: TCP_ZEROCOPY_RECEIVE lengths and recv()"}};
    }
    j["throughput"] = throughput_json(cell);
    if (cell.latency) {
        const LatencyStats& l = *cell.latency;
        j["latency"] = {{"unit", "us"},    {"round_trips", l.round_trips},
                        {"p50_us", l.p50}, {"p90_us", l.p90},
                        {"p99_us", l.p99}, {"p999_us", l.p999},
                        {"max_us", l.max}, {"mean_us", l.mean}};
    }
    if (cell.zerocopy) j["zerocopy"] = to_json(*cell.zerocopy, "missing_completions");
    if (cell.io_uring) j["io_uring"] = to_json(*cell.io_uring);
    if (cell.sendfile) j["sendfile"] = to_json(*cell.sendfile);
    json checks = json::array();
    for (const Check& c : cell.checks) {
        json k = {{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}};
        if (c.independent) {
            k["independent"] = *c.independent;
            k["independent_why"] = c.independent_why;
        }
        checks.push_back(std::move(k));
    }
    j["checks"] = checks;
    j["passed"] = cell.passed();
    j["error"] = cell.error.empty() ? json(nullptr) : json(cell.error);
    j["ledger"] = cell.ledger ? to_json(*cell.ledger) : json(nullptr);
    if (cell.tracepoint_ledger) j["ledger_tracepoints"] = to_json(*cell.tracepoint_ledger);
    j["counters"] = cell.counters ? to_json(*cell.counters) : json(nullptr);
    if (cell.tracer_cost) j["tracer_cost"] = tracer_cost_json(cell);
    return j;
}

json to_json(const Report& report) {
    json j;
    j["schema"] = report_schema;
    j["schema_version"] = report_schema_version;
    j["tool"] = {{"name", "copyscope"}, {"version", report.tool_version}};
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

HostInfo host_from_json(const JsonIn& j) {
    HostInfo h;
    h.kernel_release = j.get_or<std::string>("kernel_release", "");
    h.cpu_model = j.get_or<std::string>("cpu_model", "");
    h.cores = j.get_or<unsigned>("cores", 0);
    h.btf_present = j.get_or("btf_present", false);
    h.lockdown = j.get_or<std::string>("lockdown", "");
    return h;
}

CellResult cell_from_json(const JsonIn& j) {
    CellResult c;
    c.spec = spec_from_json(j);
    c.seconds = j.get_or("seconds", 0.0);
    app_from_json(j, c.app);
    if (auto t = j.find("throughput")) throughput_from_json(*t, c);
    if (auto l = j.find("latency")) c.latency = latency_from_json(*l);
    if (auto z = j.find("zerocopy"))
        c.zerocopy = zerocopy_stats_from_json(*z, "missing_completions");
    if (auto u = j.find("io_uring")) c.io_uring = io_uring_stats_from_json(*u);
    if (auto f = j.find("sendfile")) c.sendfile = sendfile_stats_from_json(*f);
    if (auto checks = j.find("checks"))
        for (const JsonIn& k : checks->elements())
            c.checks.push_back({k.get<std::string>("name"), k.get<bool>("passed"),
                                k.get_or<std::string>("detail", ""),
                                k.optional<bool>("independent"),
                                k.get_or<std::string>("independent_why", "")});
    c.error = j.get_or<std::string>("error", "");
    j.optional<bool>("passed"); // derived again from the checks, but never read past a bad one
    if (auto l = j.find("ledger")) c.ledger = ledger_from_json(*l, c.spec);
    if (auto l = j.find("ledger_tracepoints")) c.tracepoint_ledger = ledger_from_json(*l, c.spec);
    if (auto k = j.find("counters")) c.counters = counters_from_json(*k);
    if (auto t = j.find("tracer_cost")) c.tracer_cost = tracer_cost_from_json(*t);
    return c;
}

Report report_from_json(const json& doc) {
    const JsonIn j(doc, "");
    refuse_foreign(j);
    Report r;
    if (auto tool = j.find("tool")) r.tool_version = tool->get_or<std::string>("version", "");
    if (auto host = j.find("host")) r.host = host_from_json(*host);
    r.command_line = j.get_or<std::vector<std::string>>("command_line", {});
    r.started_at = j.get_or<std::string>("started_at", "");
    r.complete = j.get_or("complete", true);
    r.interrupted_reason = j.get_or<std::string>("interrupted", "");
    static const char* const known[] = {"schema",   "schema_version", "tool",
                                        "host",     "command_line",   "started_at",
                                        "complete", "interrupted",    "cells"};
    for (auto it = doc.begin(); it != doc.end(); ++it)
        if (std::find(std::begin(known), std::end(known), it.key()) == std::end(known))
            r.extra[it.key()] = it.value();
    for (const JsonIn& cell : j.at("cells").elements())
        r.cells.push_back(cell_from_json(cell));
    return r;
}

} // namespace copyscope
