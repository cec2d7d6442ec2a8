#include "report/trace_report.h"

#include "common/errors.h"
#include "report/ledger_json.h"
#include "report/measured_json.h"
#include "report/tracer_cost_json.h"

namespace copyscope {
namespace {

using nlohmann::json;
using U64 = Measured<uint64_t>;

// The figures a ledger writes besides ByteFigures, by key.
struct ExtraFigure {
    const char* key;
    U64 TraceFigures::*field;
};
constexpr ExtraFigure extra_figures[] = {
    {"bytes_sent", &TraceFigures::bytes_sent},
    {"sent_by_reference_bytes", &TraceFigures::sent_by_reference_bytes},
    {"unclassified_send_bytes", &TraceFigures::unclassified_send_bytes},
    {"zerocopy_receive_mapped_bytes", &TraceFigures::zerocopy_receive_mapped_bytes},
    {"deferred_copy_retransmit_bytes", &TraceFigures::deferred_copy_retransmit_bytes},
};

std::string evidence_word(const U64& m) {
    return m ? std::string(to_string(m.evidence())) : "unsupported";
}

// A figure with its evidence from the ledger's "evidence" map.
U64 figure_from(const JsonIn& j, const char* key) {
    U64 m = j.measured<uint64_t>(key);
    if (!m) return m;
    Evidence e = Evidence::exact;
    if (auto ev = j.find("evidence"))
        if (auto w = ev->find(key); w && w->as<std::string>() == "inferred") e = Evidence::inferred;
    return U64(*m, e);
}

json endpoint_json(const Endpoint& e) {
    return {{"address", e.address}, {"port", e.port}};
}

Endpoint endpoint_from(const JsonIn& j) {
    return {j.get<std::string>("address"), uint16_t(j.get<unsigned>("port"))};
}

json connection_json(const ConnectionLedger& c) {
    return {{"protocol", std::string(to_string(c.protocol))},
            {"local", endpoint_json(c.local)},
            {"remote", endpoint_json(c.remote)},
            {"netns", c.netns},
            {"cgroup", c.cgroup},
            {"state", c.closed ? "closed" : "open"},
            {"ledger", to_json(c.ledger)},
            {"verdict", c.verdict}};
}

ConnectionLedger connection_from(const JsonIn& j) {
    ConnectionLedger c;
    c.protocol = j.at("protocol").as_enum<TraceProtocol>(trace_protocol_from_string, "protocol");
    c.local = endpoint_from(j.at("local"));
    c.remote = endpoint_from(j.at("remote"));
    c.netns = j.get_or<uint64_t>("netns", 0);
    c.cgroup = j.get_or<std::string>("cgroup", "");
    c.closed = j.get_or<std::string>("state", "open") == "closed";
    c.ledger = trace_figures_from_json(j.at("ledger"));
    c.verdict = j.get_or<std::string>("verdict", "");
    return c;
}

json untracked_json(const Untracked& u) {
    return {{"table_capacity", u.table_capacity},
            {"sockets_seen", u.sockets_seen},
            {"table_full_events", u.table_full_events},
            {"errqueue_messages_skipped", u.errqueue_messages_skipped},
            {"raw", to_json(u.counts)},
            {"note", "counts of in-scope sockets that found the per-socket table full, and "
                     "how many events did"}};
}

json cost_json(const Measured<TracerCost>& cost, const TraceFigures& totals) {
    if (!cost) return unsupported_json(cost.reason());
    return tracer_cost_json(cost, tracer_cost_share(*cost, totals.bytes_sent.value_or(0), {}),
                            "while tracing");
}

json scope_json(const TraceScopeInfo& s) {
    json j = {{"who", s.who}, {"description", s.description}};
    if (!s.command.empty()) j["command"] = s.command;
    if (!s.processes.empty()) {
        j["processes"] = json::array();
        for (const auto& [pid, comm] : s.processes)
            j["processes"].push_back({{"pid", pid}, {"comm", comm}});
    }
    if (!s.cgroup.empty()) j["cgroup"] = {{"path", s.cgroup}, {"id", s.cgroup_id}};
    if (!s.netns.empty()) {
        j["netns"] = json::array();
        for (const auto& [path, inode] : s.netns)
            j["netns"].push_back({{"path", path}, {"inode", inode}});
    }
    return j;
}

TraceScopeInfo scope_from(const JsonIn& j) {
    TraceScopeInfo s;
    s.who = j.get<std::string>("who");
    s.description = j.get_or<std::string>("description", "");
    s.command = j.get_or<std::vector<std::string>>("command", {});
    if (auto p = j.find("processes"))
        for (const JsonIn& e : p->elements())
            s.processes.push_back({e.get<unsigned>("pid"), e.get<std::string>("comm")});
    if (auto c = j.find("cgroup")) {
        s.cgroup = c->get<std::string>("path");
        s.cgroup_id = c->get_or<uint64_t>("id", 0);
    }
    if (auto n = j.find("netns"))
        for (const JsonIn& e : n->elements())
            s.netns.push_back({e.get<std::string>("path"), e.get<uint64_t>("inode")});
    return s;
}

} // namespace

std::string_view to_string(TraceEnd e) {
    switch (e) {
    case TraceEnd::command_exited:
        return "command_exited";
    case TraceEnd::duration:
        return "duration";
    case TraceEnd::signal:
        return "signal";
    case TraceEnd::processes_exited:
        return "processes_exited";
    }
    return "?";
}

std::optional<TraceEnd> trace_end_from_string(std::string_view text) {
    for (TraceEnd e : {TraceEnd::command_exited, TraceEnd::duration, TraceEnd::signal,
                       TraceEnd::processes_exited})
        if (to_string(e) == text) return e;
    return std::nullopt;
}

json to_json(const TraceFigures& f) {
    json j = json::object();
    json evidence = json::object();
    for (const ExtraFigure& x : extra_figures) {
        j[x.key] = measured_json(f.*x.field);
        evidence[x.key] = evidence_word(f.*x.field);
    }
    for (const ByteFigureDef& d : byte_figures) {
        j[std::string(d.key)] = measured_json(f.figures.*d.field);
        evidence[std::string(d.key)] = evidence_word(f.figures.*d.field);
    }
    j["deferred_by_namespace"] = json::array();
    for (const DeferredAt& d : f.deferred_by_namespace)
        j["deferred_by_namespace"].push_back(
            {{"netns", d.netns}, {"own", d.own}, {"bytes", d.bytes}, {"role", d.role}});
    const TraceCompletions& c = f.completions;
    j["completions"] = {{"sends", measured_json(c.sends)},
                        {"copied", measured_json(c.copied)},
                        {"notifications", measured_json(c.notifications)},
                        {"source", c.source}};
    evidence["completions"] = evidence_word(c.sends);
    j["send_copies_per_byte"] = measured_json(f.send_copies_per_byte);
    evidence["send_copies_per_byte"] =
        f.send_copies_per_byte ? std::string(to_string(f.send_copies_per_byte.evidence()))
                               : "unsupported";
    j["evidence"] = evidence;
    j["raw"] = to_json(f.raw);
    return j;
}

TraceFigures trace_figures_from_json(const JsonIn& j) {
    TraceFigures f;
    for (const ExtraFigure& x : extra_figures)
        f.*x.field = figure_from(j, x.key);
    for (const ByteFigureDef& d : byte_figures)
        f.figures.*d.field = figure_from(j, std::string(d.key).c_str());
    if (auto list = j.find("deferred_by_namespace"))
        for (const JsonIn& d : list->elements())
            f.deferred_by_namespace.push_back({d.get<uint64_t>("netns"), d.get_or("own", false),
                                               d.get<uint64_t>("bytes"),
                                               d.get_or<std::string>("role", "")});
    if (auto c = j.find("completions")) {
        f.completions.sends = figure_from(*c, "sends");
        f.completions.copied = figure_from(*c, "copied");
        f.completions.notifications = figure_from(*c, "notifications");
        f.completions.source = c->get_or<std::string>("source", "");
    }
    f.send_copies_per_byte = j.measured<double>("send_copies_per_byte");
    if (f.send_copies_per_byte)
        if (auto ev = j.find("evidence"))
            if (auto w = ev->find("send_copies_per_byte"); w && w->as<std::string>() == "inferred")
                f.send_copies_per_byte =
                    Measured<double>(*f.send_copies_per_byte, Evidence::inferred);
    if (auto raw = j.find("raw")) f.raw = kernel_counts_from_json(*raw);
    return f;
}

json to_json(const TraceReport& r) {
    json j;
    j["schema"] = trace_report_schema;
    j["schema_version"] = trace_report_schema_version;
    j["tool_version"] = r.tool_version;
    j["host"] = to_json(r.host);
    j["command_line"] = r.command_line;
    json tracer = {{"missed_events", r.missed_events},
                   {"cost", cost_json(r.tracer_cost, r.totals)},
                   {"reaped_sockets", r.reaped_sockets}};
    if (r.hook_mode) tracer["hook_mode"] = std::string(to_string(*r.hook_mode));
    if (!r.tracer_note.empty()) tracer["note"] = r.tracer_note;
    j["tracer"] = tracer;
    j["hooks"] = json::object();
    for (const HookUse& h : r.hooks)
        j["hooks"][h.hook] = to_json(h);
    j["scope"] = scope_json(r.scope);
    j["started_at"] = r.started_at;
    j["ended_at"] = r.ended_at;
    j["duration_seconds"] = r.duration_seconds;
    j["end"] = {{"reason", std::string(to_string(r.end))},
                {"detail", r.end_detail},
                {"exit_status", r.exit_status ? json(*r.exit_status) : json(nullptr)}};
    j["processes"] = json::array();
    for (const ProcessLedger& p : r.processes) {
        json pj = {{"pid", p.pid}, {"comm", p.comm}, {"connections", json::array()}};
        for (const ConnectionLedger& c : p.connections)
            pj["connections"].push_back(connection_json(c));
        pj["totals"] = to_json(p.totals);
        j["processes"].push_back(pj);
    }
    j["totals"] = to_json(r.totals);
    j["untracked"] = untracked_json(r.untracked);
    return j;
}

std::string report_schema_of(const nlohmann::json& j) {
    if (!j.is_object() || !j.contains("schema") || !j["schema"].is_string()) return "";
    return j["schema"].get<std::string>();
}

TraceReport trace_report_from_json(const nlohmann::json& doc) {
    const JsonIn j(doc, "");
    if (report_schema_of(doc) != trace_report_schema)
        j.fail("not a copyscope trace report (\"schema\": \"" + std::string(trace_report_schema) +
               "\")");
    if (j.get<int>("schema_version") > trace_report_schema_version)
        j.fail("schema_version " + std::to_string(j.get<int>("schema_version")) +
               " is newer than this copyscope reads (" +
               std::to_string(trace_report_schema_version) + ")");
    TraceReport r;
    r.tool_version = j.get_or<std::string>("tool_version", "");
    if (auto h = j.find("host")) r.host = host_from_json(*h);
    r.command_line = j.get_or<std::vector<std::string>>("command_line", {});
    if (auto t = j.find("tracer")) {
        r.missed_events = t->get_or<uint64_t>("missed_events", 0);
        r.reaped_sockets = t->get_or<uint64_t>("reaped_sockets", 0);
        r.tracer_note = t->get_or<std::string>("note", "");
        if (auto m = t->find("hook_mode"))
            r.hook_mode = m->as_enum<HookMode>(hook_mode_from_string, "hook mode");
        r.tracer_cost = t->has("cost") ? tracer_cost_from_json(t->at("cost"))
                                       : Measured<TracerCost>(Unsupported{not_in_report});
    }
    if (auto hooks = j.find("hooks"))
        for (const auto& [name, h] : hooks->members())
            r.hooks.push_back(hook_use_from_json(name, h));
    r.scope = scope_from(j.at("scope"));
    r.started_at = j.get_or<std::string>("started_at", "");
    r.ended_at = j.get_or<std::string>("ended_at", "");
    r.duration_seconds = j.get_or("duration_seconds", 0.0);
    const JsonIn end = j.at("end");
    r.end = end.at("reason").as_enum<TraceEnd>(trace_end_from_string, "end reason");
    r.end_detail = end.get_or<std::string>("detail", "");
    r.exit_status = end.optional<int>("exit_status");
    for (const JsonIn& p : j.at("processes").elements()) {
        ProcessLedger pl;
        pl.pid = p.get<unsigned>("pid");
        pl.comm = p.get<std::string>("comm");
        for (const JsonIn& c : p.at("connections").elements())
            pl.connections.push_back(connection_from(c));
        pl.totals = trace_figures_from_json(p.at("totals"));
        r.processes.push_back(std::move(pl));
    }
    r.totals = trace_figures_from_json(j.at("totals"));
    if (auto u = j.find("untracked")) {
        r.untracked.table_capacity = u->get_or<uint64_t>("table_capacity", 0);
        r.untracked.sockets_seen = u->get_or<uint64_t>("sockets_seen", 0);
        r.untracked.table_full_events = u->get_or<uint64_t>("table_full_events", 0);
        r.untracked.errqueue_messages_skipped = u->get_or<uint64_t>("errqueue_messages_skipped", 0);
        if (auto raw = u->find("raw")) r.untracked.counts = kernel_counts_from_json(*raw);
    }
    return r;
}

} // namespace copyscope
