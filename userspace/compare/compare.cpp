#include "compare/compare.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <sstream>
#include <tuple>

#include "common/errors.h"

namespace copyscope {

using nlohmann::json;

namespace {

constexpr const char* kSchema = "copyscope-report";

std::string type_name(const json& j) {
    return j.type_name();
}

[[noreturn]] void bad(const std::string& where, const std::string& what) {
    throw UsageError(where + ": " + what);
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest is the useful
// part ("parse error at line 1, column 2: ...").
std::string strip_json_prefix(const std::string& what) {
    if (!what.empty() && what[0] == '[') {
        auto close = what.find("] ");
        if (close != std::string::npos) return what.substr(close + 2);
    }
    return what;
}

// Messages stay on one line: a report value could carry a newline.
std::string one_line(std::string s) {
    std::replace(s.begin(), s.end(), '\n', ' ');
    return s;
}

bool is_unsupported_object(const json& j) {
    return j.is_object() && j.contains("unsupported") && j["unsupported"].is_string();
}

std::string size_label(uint64_t bytes) {
    if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + "MiB";
    if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "KiB";
    return std::to_string(bytes) + "B";
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

// Enough digits to see a 0.1% move in a ratio near 2, no scientific notation for counts.
std::string format_number(double v) {
    if (v == 0) return "0";
    const double a = std::fabs(v);
    if (a >= 1000) return fmt("%.0f", v);
    return fmt("%.4g", v);
}

std::string format_change(const MetricDelta& m) {
    if (!m.a.is_number() || !m.b.is_number()) return "";
    if (!m.change) return m.a.value == m.b.value ? "0.0%" : "from 0";
    if (std::fabs(*m.change) < 0.05) return "0.0%";
    return fmt("%+.1f%%", *m.change);
}

// Units go in the label to keep the value columns short; ledger and counter labels
// already name theirs ("/B", "CPU-s/GiB").
std::string metric_label(const MetricDelta& m) {
    if ((m.group == "throughput" || m.group == "latency") && !m.unit.empty())
        return m.label + " " + m.unit;
    return m.label;
}

// ---- cell fields ----------------------------------------------------------------------

const json* member(const json& obj, const char* key) {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return nullptr;
    return &*it;
}

// An optional section: missing/null -> nullptr, object -> it, anything else is malformed.
const json* section(const json& cell, const char* key, const std::string& where) {
    const json* s = member(cell, key);
    if (s && !s->is_object()) bad(where + "." + key, "expected an object, got " + type_name(*s));
    return s;
}

struct Side {
    const json& cell;
    std::string where;
};

Figure throughput_of(const Side& s, std::optional<std::pair<double, double>>& ci) {
    if (const json* t = section(s.cell, "throughput", s.where)) {
        const std::string w = s.where + ".throughput";
        // Repeated cells: the mean over repetitions and its 95% confidence interval.
        for (const char* key : {"mean_gbit_per_second", "mean"}) {
            if (!t->contains(key)) continue;
            Figure f = read_figure(*t, key, w, "no mean throughput");
            if (!f.is_number()) continue;
            const json* lo = member(*t, "ci95_low");
            const json* hi = member(*t, "ci95_high");
            if (lo && hi && lo->is_number() && hi->is_number())
                ci = std::make_pair(lo->get<double>(), hi->get<double>());
            return f;
        }
    }
    return read_figure(s.cell, "gbit_per_second", s.where, "no throughput in the report");
}

// The bytes the ledger's byte fields are divided by: what the application sent.
Figure app_bytes_of(const Side& s, const json* ledger) {
    if (ledger && ledger->contains("app_bytes_sent"))
        return read_figure(*ledger, "app_bytes_sent", s.where + ".ledger", "no app bytes");
    return read_figure(s.cell, "bytes_sent", s.where, "no bytes_sent in the report");
}

const char* const kNoLedger = "no ledger (run without the tracer)";

// ledger[field] / app bytes, scaled (1 per byte, 2^20 per MiB).
Figure per_byte(const Side& s, const json* ledger, const char* field, double scale) {
    if (!ledger) return Figure::absent_because(kNoLedger);
    Figure f = read_figure(*ledger, field, s.where + ".ledger",
                           std::string("no ") + field + " in the ledger");
    if (!f.is_number()) return f;
    Figure app = app_bytes_of(s, ledger);
    if (!app.is_number()) return app;
    if (app.value <= 0) return Figure::unsupported_because("no bytes were sent");
    return Figure::number_of(f.value / app.value * scale);
}

Figure copied_share(const Side& s) {
    const json* z = section(s.cell, "zerocopy", s.where);
    if (!z) return Figure::absent_because("no MSG_ZEROCOPY sends in this cell");
    const std::string w = s.where + ".zerocopy";
    Figure done = read_figure(*z, "completions", w, "no completions count");
    Figure copied = read_figure(*z, "completions_copied", w, "no COPIED count");
    if (!done.is_number()) return done;
    if (!copied.is_number()) return copied;
    if (done.value <= 0) return Figure::unsupported_because("no zerocopy completions arrived");
    return Figure::number_of(100.0 * copied.value / done.value);
}

// Derived perf-counter figures of one scope: an object of figures, or the reason none exist.
struct ScopeFigures {
    const json* figures = nullptr;
    Figure missing; // used when figures is null
};

ScopeFigures scope_figures(const Side& s, const std::string& scope) {
    ScopeFigures out;
    const json* counters = section(s.cell, "counters", s.where);
    if (!counters) {
        out.missing = Figure::absent_because("perf counters not measured");
        return out;
    }
    const std::string w = s.where + ".counters";
    if (const json* raw = member(*counters, scope.c_str()); raw && is_unsupported_object(*raw)) {
        out.missing = Figure::unsupported_because((*raw)["unsupported"].get<std::string>());
        return out;
    }
    const json* derived = section(*counters, "derived", w);
    const json* figures = derived ? member(*derived, scope.c_str()) : nullptr;
    if (!figures) {
        out.missing = Figure::absent_because(scope + " counters not measured");
    } else if (is_unsupported_object(*figures)) {
        out.missing = Figure::unsupported_because((*figures)["unsupported"].get<std::string>());
    } else if (!figures->is_object()) {
        bad(w + ".derived." + scope, "expected an object, got " + type_name(*figures));
    } else {
        out.figures = figures;
    }
    return out;
}

struct CounterFigureInfo {
    const char* name;
    const char* label;
    const char* unit;
    Direction direction;
};

// Known derived figures, in table order. Context switches per second grow with throughput,
// so they are shown but never judged.
constexpr CounterFigureInfo kCounterFigures[] = {
    {"cpu_seconds_per_gib", "CPU-s/GiB", "CPU-s/GiB", Direction::lower_is_better},
    {"cycles_per_byte", "cycles/B", "cycles/B", Direction::lower_is_better},
    {"instructions_per_byte", "instructions/B", "instructions/B", Direction::lower_is_better},
    {"cache_misses_per_kib", "cache misses/KiB", "misses/KiB", Direction::lower_is_better},
    {"context_switches_per_second", "context switches/s", "cs/s", Direction::informational},
};

const char* kKnownHooks[] = {"send",         "pinned_pages", "deferred_copy",
                             "receive_copy", "retransmits",  "completions"};

json normalize_hook(const json* h, const std::string& where) {
    if (!h) return nullptr;
    if (is_unsupported_object(*h)) return json{{"unsupported", (*h)["unsupported"]}};
    if (!h->is_object()) bad(where, "expected an object, got " + type_name(*h));
    json out = json::object();
    for (const char* key : {"mechanism", "count", "targets"})
        if (h->contains(key)) out[key] = (*h)[key];
    return out;
}

json string_or_null(const json& cell, const char* key, const std::string& where) {
    const json* v = member(cell, key);
    if (!v) return nullptr;
    if (!v->is_string()) bad(where + "." + key, "expected a string, got " + type_name(*v));
    return *v;
}

std::vector<std::string> failed_checks(const json& cell, const std::string& where) {
    std::vector<std::string> out;
    const json* checks = member(cell, "checks");
    if (!checks) return out;
    if (!checks->is_array()) bad(where + ".checks", "expected an array, got " + type_name(*checks));
    for (const json& c : *checks) {
        if (!c.is_object()) continue;
        const json* passed = member(c, "passed");
        if (passed && passed->is_boolean() && !passed->get<bool>()) {
            const json* name = member(c, "name");
            out.push_back(name && name->is_string() ? name->get<std::string>() : "(unnamed)");
        }
    }
    return out;
}

void add_metric(CellComparison& cc, double threshold, std::string group, std::string name,
                std::string label, std::string unit, Direction d, Figure a, Figure b) {
    MetricDelta m;
    m.group = std::move(group);
    m.name = std::move(name);
    m.label = std::move(label);
    m.unit = std::move(unit);
    m.direction = d;
    m.a = std::move(a);
    m.b = std::move(b);
    if (m.a.is_number() && m.b.is_number()) m.change = change_percent(m.a.value, m.b.value);
    m.movement = judge(d, m.a, m.b, threshold);
    cc.metrics.push_back(std::move(m));
}

json figure_json(const Figure& f) {
    switch (f.kind) {
    case Figure::Kind::number:
        return f.value;
    case Figure::Kind::unsupported:
        return json{{"unsupported", f.why}};
    case Figure::Kind::absent:
        return nullptr;
    }
    return nullptr;
}

ReportSummary summarize_report(const json& doc, const std::string& path) {
    ReportSummary s;
    s.path = path;
    auto str = [](const json* obj, const char* key) -> std::string {
        if (!obj) return "";
        const json* v = member(*obj, key);
        return v && v->is_string() ? v->get<std::string>() : "";
    };
    const json* host = member(doc, "host");
    s.kernel_release = str(host, "kernel_release");
    s.cpu_model = str(host, "cpu_model");
    s.started_at = str(&doc, "started_at");
    s.tool_version = str(member(doc, "tool"), "version");
    if (const json* c = member(doc, "complete"); c && c->is_boolean()) s.complete = c->get<bool>();
    s.interrupted = str(&doc, "interrupted");
    s.cells = doc["cells"].size();
    return s;
}

} // namespace

// ---- loading and validation -------------------------------------------------------------

nlohmann::json load_report(const std::string& path) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec))
        throw UsageError(path + ": is a directory, not a report");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError(one_line(errno_message(path + ": cannot read", errno)));
    std::stringstream text;
    text << in.rdbuf();
    if (in.bad()) throw UsageError(one_line(errno_message(path + ": cannot read", errno)));
    const std::string contents = text.str();
    if (contents.find_first_not_of(" \t\r\n") == std::string::npos)
        throw UsageError(path + ": empty file, not a copyscope report");
    json doc;
    try {
        doc = json::parse(contents);
    } catch (const json::parse_error& e) {
        throw UsageError(path + ": not JSON (" + one_line(strip_json_prefix(e.what())) + ")");
    }
    validate_report(doc, path);
    return doc;
}

void validate_report(const nlohmann::json& doc, const std::string& name) {
    if (!doc.is_object()) bad(name, "not a copyscope report (a JSON " + type_name(doc) + ")");
    const json* schema = member(doc, "schema");
    if (!schema) bad(name, "not a copyscope report (no \"schema\" field)");
    if (!schema->is_string() || schema->get<std::string>() != kSchema)
        bad(name, "not a copyscope report (schema " + one_line(schema->dump()) + ", expected \"" +
                      kSchema + "\")");
    const json* version = member(doc, "schema_version");
    if (!version || !version->is_number_integer())
        bad(name, "schema_version missing or not an integer");
    const auto v = version->get<int64_t>();
    if (v > compare_max_schema_version)
        bad(name, "schema_version " + std::to_string(v) + " is newer than this copyscope reads (" +
                      std::to_string(compare_max_schema_version) + "); use a newer copyscope");
    if (v < 1) bad(name, "schema_version " + std::to_string(v) + " is not a valid version");
    const json* cells = member(doc, "cells");
    if (!cells) bad(name, "no \"cells\" array");
    if (!cells->is_array())
        bad(name, "\"cells\" is a JSON " + type_name(*cells) + ", not an array");
    for (size_t i = 0; i < cells->size(); ++i) {
        const json& c = (*cells)[i];
        const std::string where = name + ": cells[" + std::to_string(i) + "]";
        if (!c.is_object())
            throw UsageError(where + " is a JSON " + type_name(c) + ", not an object");
        for (const char* key : {"strategy", "transport"}) {
            const json* v = member(c, key);
            if (!v) throw UsageError(where + " has no \"" + key + "\"");
            if (!v->is_string())
                throw UsageError(where + "." + key + ": expected a string, got " + type_name(*v));
        }
        for (const char* key : {"message_size", "threads"}) {
            const json* v = member(c, key);
            if (!v) throw UsageError(where + " has no \"" + key + "\"");
            if (!v->is_number_unsigned())
                throw UsageError(where + "." + key + ": expected a non-negative integer, got " +
                                 one_line(v->dump()));
        }
        if (const json* p = member(c, "pattern"); p && !p->is_string())
            throw UsageError(where + ".pattern: expected a string, got " + type_name(*p));
        if (const json* p = member(c, "passed"); p && !p->is_boolean())
            throw UsageError(where + ".passed: expected true or false, got " + type_name(*p));
    }
}

// ---- matching -----------------------------------------------------------------------------

CellKey cell_key(const nlohmann::json& cell) {
    CellKey k;
    k.strategy = cell.at("strategy").get<std::string>();
    k.transport = cell.at("transport").get<std::string>();
    k.message_size = cell.at("message_size").get<uint64_t>();
    k.threads = cell.at("threads").get<uint64_t>();
    if (const json* p = member(cell, "pattern")) k.pattern = p->get<std::string>();
    if (const json* p = member(cell, "protocol")) k.protocol = p->get<std::string>();
    if (const json* r = member(cell, "receive")) k.receive = r->get<std::string>();
    if (const json* g = member(cell, "udp_gso")) k.udp_gso = g->get<uint64_t>();
    return k;
}

std::string describe(const CellKey& k) {
    std::string s = k.strategy + " " + k.transport + " " + size_label(k.message_size) + " x" +
                    std::to_string(k.threads);
    if (k.pattern != "stream") s += " " + k.pattern;
    if (k.protocol != "tcp") s += " " + k.protocol;
    if (k.udp_gso > 0) s += " gso " + std::to_string(k.udp_gso);
    if (k.receive != "copy") s += " " + k.receive + "-rx";
    return s;
}

nlohmann::json to_json(const CellKey& k) {
    nlohmann::json j = {{"strategy", k.strategy},
                        {"transport", k.transport},
                        {"message_size", k.message_size},
                        {"threads", k.threads},
                        {"pattern", k.pattern}};
    // The paths beyond a tcp stream received by copy, only where taken.
    if (k.protocol != "tcp") j["protocol"] = k.protocol;
    if (k.udp_gso > 0) j["udp_gso"] = k.udp_gso;
    if (k.receive != "copy") j["receive"] = k.receive;
    return j;
}

CellMatching match_cells(const nlohmann::json& baseline, const nlohmann::json& candidate) {
    CellMatching m;
    // Candidate cells by key, in order; each baseline cell takes the first one left.
    std::map<CellKey, std::vector<const json*>> pending;
    std::vector<std::pair<CellKey, const json*>> candidate_cells;
    for (const json& c : candidate.at("cells")) {
        candidate_cells.emplace_back(cell_key(c), &c);
        pending[candidate_cells.back().first].push_back(&c);
    }
    std::map<CellKey, size_t> taken;
    for (const json& c : baseline.at("cells")) {
        CellKey k = cell_key(c);
        auto it = pending.find(k);
        size_t& n = taken[k];
        if (it != pending.end() && n < it->second.size()) {
            m.matched.push_back({k, &c, it->second[n]});
            ++n;
        } else {
            m.only_baseline.push_back(k);
        }
    }
    std::map<CellKey, size_t> seen;
    for (const auto& [k, cell] : candidate_cells) {
        (void)cell;
        if (seen[k]++ >= taken[k]) m.only_candidate.push_back(k);
    }
    return m;
}

// ---- figures, deltas, thresholds ----------------------------------------------------------

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

Figure read_figure(const nlohmann::json& parent, const std::string& key, const std::string& where,
                   const std::string& absent_why) {
    const json* v = member(parent, key.c_str());
    if (!v) return Figure::absent_because(absent_why);
    if (v->is_number()) return Figure::number_of(v->get<double>());
    if (is_unsupported_object(*v))
        return Figure::unsupported_because((*v)["unsupported"].get<std::string>());
    throw UsageError(where + "." + key + ": expected a number or {\"unsupported\": why}, got " +
                     one_line(v->dump()));
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

CellComparison compare_cells(const nlohmann::json& a, const nlohmann::json& b,
                             double threshold_percent, const std::string& where_a,
                             const std::string& where_b) {
    CellComparison cc;
    cc.key = cell_key(a);
    const Side sa{a, where_a}, sb{b, where_b};
    const double t = threshold_percent;

    cc.passed_a = member(a, "passed") ? a["passed"] : json(nullptr);
    cc.passed_b = member(b, "passed") ? b["passed"] : json(nullptr);
    cc.failed_checks_a = failed_checks(a, where_a);
    cc.failed_checks_b = failed_checks(b, where_b);
    cc.error_a = string_or_null(a, "error", where_a);
    cc.error_b = string_or_null(b, "error", where_b);
    cc.checks_regressed = cc.passed_a == json(true) && cc.passed_b == json(false);
    for (auto [cell, reps] : {std::pair{&a, &cc.repetitions_a}, std::pair{&b, &cc.repetitions_b}})
        if (const json* r = member(*cell, "repetitions"); r && r->is_number_unsigned())
            *reps = r->get<uint64_t>();

    // Throughput and run length.
    {
        MetricDelta tmp;
        Figure fa = throughput_of(sa, tmp.ci_a);
        Figure fb = throughput_of(sb, tmp.ci_b);
        add_metric(cc, t, "throughput", "gbit_per_second", "throughput", "Gbit/s",
                   Direction::higher_is_better, fa, fb);
        MetricDelta& m = cc.metrics.back();
        m.ci_a = tmp.ci_a;
        m.ci_b = tmp.ci_b;
        // Repeated cells carry their own noise: a move whose 95% confidence intervals still
        // overlap is not evidence of a change, whatever its size.
        if (m.ci_a && m.ci_b && m.ci_a->first <= m.ci_b->second &&
            m.ci_b->first <= m.ci_a->second && m.movement != Movement::unchanged) {
            m.movement = Movement::unchanged;
            m.note = "within noise: 95% CIs overlap";
        }
        auto mib = [](const Side& s) {
            Figure f = read_figure(s.cell, "bytes_sent", s.where, "no bytes_sent");
            if (f.is_number()) f.value /= double(1 << 20);
            return f;
        };
        add_metric(cc, t, "throughput", "mib_sent", "sent", "MiB", Direction::informational,
                   mib(sa), mib(sb));
    }

    // Latency (request/response cells).
    const json* lat_a = section(a, "latency", where_a);
    const json* lat_b = section(b, "latency", where_b);
    if (lat_a || lat_b) {
        struct L {
            const char* key;
            const char* label;
            Direction d;
        };
        // The maximum is one sample: shown, never judged.
        for (const L& l : {L{"p50_us", "latency p50", Direction::lower_is_better},
                           L{"p90_us", "latency p90", Direction::lower_is_better},
                           L{"p99_us", "latency p99", Direction::lower_is_better},
                           L{"p999_us", "latency p99.9", Direction::lower_is_better},
                           L{"mean_us", "latency mean", Direction::lower_is_better},
                           L{"max_us", "latency max", Direction::informational}}) {
            auto fig = [&](const json* lat, const std::string& where) {
                if (!lat) return Figure::absent_because("no latency measured");
                return read_figure(*lat, l.key, where + ".latency", "no latency figure");
            };
            add_metric(cc, t, "latency", l.key, l.label, "us", l.d, fig(lat_a, where_a),
                       fig(lat_b, where_b));
        }
    }

    // The copy ledger, per byte the application sent.
    const json* la = section(a, "ledger", where_a);
    const json* lb = section(b, "ledger", where_b);
    {
        auto cpb = [](const Side& s, const json* l) {
            if (!l) return Figure::absent_because(kNoLedger);
            return read_figure(*l, "copies_per_byte", s.where + ".ledger",
                               "no copies_per_byte in the ledger");
        };
        add_metric(cc, t, "ledger", "copies_per_byte", "copies per byte", "",
                   Direction::lower_is_better, cpb(sa, la), cpb(sb, lb));
        struct F {
            const char* field;
            const char* label;
            Direction d;
            double scale;
            const char* unit;
        };
        constexpr double per_mib = double(1 << 20);
        // Copies are lower-is-better; pinned bytes and retransmits describe the path (and
        // retransmits vary with timing), so they are shown but not judged.
        for (const F& f :
             {F{"user_copy_bytes", "user copy /B", Direction::lower_is_better, 1, ""},
              F{"kernel_send_copy_bytes", "kernel send copy /B", Direction::lower_is_better, 1, ""},
              F{"zerocopy_pinned_bytes", "zerocopy pinned /B", Direction::informational, 1, ""},
              F{"pinned_pages", "pinned pages /MiB", Direction::informational, per_mib, ""},
              F{"zerocopy_fallback_bytes", "zerocopy fallback /B", Direction::lower_is_better, 1,
                ""},
              F{"deferred_copy_bytes", "deferred copy /B", Direction::lower_is_better, 1, ""},
              F{"receive_copy_bytes", "receive copy /B", Direction::lower_is_better, 1, ""},
              F{"retransmit_bytes", "retransmit /B", Direction::informational, 1, ""}}) {
            add_metric(cc, t, "ledger", f.field, f.label, f.unit, f.d,
                       per_byte(sa, la, f.field, f.scale), per_byte(sb, lb, f.field, f.scale));
        }
        auto pct = [](const Side& s, const json* l) {
            if (!l) return Figure::absent_because(kNoLedger);
            return read_figure(*l, "deferred_copy_percent", s.where + ".ledger", "nothing pinned");
        };
        add_metric(cc, t, "ledger", "deferred_copy_percent", "deferred % of pinned", "%",
                   Direction::lower_is_better, pct(sa, la), pct(sb, lb));
    }

    // The kernel's own word on MSG_ZEROCOPY: the share of completions flagged COPIED.
    if (member(a, "zerocopy") || member(b, "zerocopy"))
        add_metric(cc, t, "zerocopy", "completions_copied_percent", "COPIED completions", "%",
                   Direction::lower_is_better, copied_share(sa), copied_share(sb));

    // Perf counters' derived figures, per scope.
    for (const std::string scope : {"thread", "system"}) {
        ScopeFigures fa = scope_figures(sa, scope), fb = scope_figures(sb, scope);
        std::vector<std::string> names;
        for (const auto& k : kCounterFigures)
            names.push_back(k.name);
        std::set<std::string> extra;
        for (const json* f : {fa.figures, fb.figures})
            if (f)
                for (auto it = f->begin(); it != f->end(); ++it)
                    if (std::find(names.begin(), names.end(), it.key()) == names.end())
                        extra.insert(it.key());
        names.insert(names.end(), extra.begin(), extra.end());
        for (const std::string& n : names) {
            const CounterFigureInfo* info = nullptr;
            for (const auto& k : kCounterFigures)
                if (n == k.name) info = &k;
            auto fig = [&](const ScopeFigures& sf, const Side& s) {
                if (!sf.figures) return sf.missing;
                return read_figure(*sf.figures, n, s.where + ".counters.derived." + scope,
                                   "not measured");
            };
            Figure va = fig(fa, sa), vb = fig(fb, sb);
            // A figure neither report knows of is not worth a row.
            if (!info && !va.is_number() && !vb.is_number()) continue;
            // Figures this version does not know are shown, never judged; so is the system
            // scope, which counts every CPU of the machine, other work included.
            const Direction d =
                info && scope == "thread" ? info->direction : Direction::informational;
            add_metric(cc, t, "counters", scope + "." + n,
                       scope + " " + (info ? info->label : n.c_str()), info ? info->unit : "", d,
                       va, vb);
        }
    }

    // Hook mechanisms: this is where kernels differ (fexit on stock kernels, tp_btf here).
    {
        const json* ha = la ? member(*la, "hooks") : nullptr;
        const json* hb = lb ? member(*lb, "hooks") : nullptr;
        if (ha && !ha->is_object()) bad(where_a + ".ledger.hooks", "expected an object");
        if (hb && !hb->is_object()) bad(where_b + ".ledger.hooks", "expected an object");
        std::vector<std::string> names(std::begin(kKnownHooks), std::end(kKnownHooks));
        std::set<std::string> extra;
        for (const json* h : {ha, hb})
            if (h)
                for (auto it = h->begin(); it != h->end(); ++it)
                    if (std::find(names.begin(), names.end(), it.key()) == names.end())
                        extra.insert(it.key());
        names.insert(names.end(), extra.begin(), extra.end());
        for (const std::string& n : names) {
            HookDelta hd;
            hd.hook = n;
            hd.a = normalize_hook(ha ? member(*ha, n.c_str()) : nullptr,
                                  where_a + ".ledger.hooks." + n);
            hd.b = normalize_hook(hb ? member(*hb, n.c_str()) : nullptr,
                                  where_b + ".ledger.hooks." + n);
            if (hd.a.is_null() && hd.b.is_null()) continue;
            // Two unsupported hooks agree whatever words their reasons use.
            const bool both_unsupported =
                hd.a.contains("unsupported") && hd.b.contains("unsupported");
            // An untraced side has no hooks to differ in; its rows show "-".
            hd.differs = ha && hb && !both_unsupported && hd.a != hd.b;
            cc.hooks.push_back(std::move(hd));
        }
    }

    cc.verdict_a = la ? string_or_null(*la, "verdict", where_a + ".ledger") : json(nullptr);
    cc.verdict_b = lb ? string_or_null(*lb, "verdict", where_b + ".ledger") : json(nullptr);
    cc.verdict_differs = la && lb && cc.verdict_a != cc.verdict_b;
    return cc;
}

std::vector<std::string> Comparison::regressions() const {
    std::vector<std::string> out;
    for (const CellComparison& c : cells) {
        const std::string cell = describe(c.key);
        for (const MetricDelta& m : c.metrics) {
            if (m.movement != Movement::regressed) continue;
            const std::string pct = m.unit == "%" ? "%" : "";
            out.push_back(cell + ": " + metric_label(m) + " " + format_number(m.a.value) + pct +
                          " -> " + format_number(m.b.value) + pct + " (" + format_change(m) + ")");
        }
        if (c.checks_regressed) {
            std::string line = cell + ": checks passed in A, failed in B";
            if (!c.failed_checks_b.empty()) {
                line += " (";
                for (size_t i = 0; i < c.failed_checks_b.size(); ++i)
                    line += (i ? "; " : "") + c.failed_checks_b[i];
                line += ")";
            } else if (c.error_b.is_string()) {
                line += " (" + c.error_b.get<std::string>() + ")";
            }
            out.push_back(line);
        }
    }
    return out;
}

Comparison compare_reports(const nlohmann::json& baseline, const nlohmann::json& candidate,
                           double threshold_percent, const std::string& baseline_path,
                           const std::string& candidate_path) {
    if (!std::isfinite(threshold_percent) || threshold_percent < 0)
        throw UsageError("--threshold " + format_number(threshold_percent) +
                         ": must be a percentage >= 0 (e.g. 5)");
    Comparison c;
    c.threshold_percent = threshold_percent;
    c.baseline = summarize_report(baseline, baseline_path);
    c.candidate = summarize_report(candidate, candidate_path);
    CellMatching m = match_cells(baseline, candidate);
    // Cell positions for error messages.
    auto index_of = [](const json& doc, const json* cell) {
        const json& cells = doc.at("cells");
        for (size_t i = 0; i < cells.size(); ++i)
            if (&cells[i] == cell) return i;
        return size_t(0);
    };
    for (const CellPair& p : m.matched) {
        c.cells.push_back(compare_cells(
            *p.baseline, *p.candidate, threshold_percent,
            baseline_path + ": cells[" + std::to_string(index_of(baseline, p.baseline)) + "]",
            candidate_path + ": cells[" + std::to_string(index_of(candidate, p.candidate)) + "]"));
    }
    c.only_baseline = std::move(m.only_baseline);
    c.only_candidate = std::move(m.only_candidate);
    return c;
}

// ---- rendering --------------------------------------------------------------------------

namespace {

constexpr int kIndent = 2, kLabel = 26, kValue = 19, kChange = 9;

// Long reasons go to numbered notes at the end so columns stay narrow; equal reasons share
// a number.
struct Notes {
    std::vector<std::string> texts;
    std::string ref(const std::string& text) {
        auto it = std::find(texts.begin(), texts.end(), text);
        size_t n = it - texts.begin();
        if (it == texts.end()) texts.push_back(text);
        return "[" + std::to_string(n + 1) + "]";
    }
};

// Display width: UTF-8 continuation bytes take no column ("±").
size_t columns(const std::string& s) {
    return size_t(std::count_if(s.begin(), s.end(), [](char ch) { return (ch & 0xC0) != 0x80; }));
}

std::string pad(std::string s, size_t width) {
    const size_t n = columns(s);
    s.append(n < width ? width - n : 1, ' '); // at least one space between columns
    return s;
}

std::string cell_value(const MetricDelta& m, const Figure& f,
                       const std::optional<std::pair<double, double>>& ci, Notes& notes) {
    switch (f.kind) {
    case Figure::Kind::number: {
        std::string s = format_number(f.value);
        if (ci) s += " ±" + fmt("%.2g", (ci->second - ci->first) / 2);
        if (m.unit == "%") s += "%"; // other units are in the row's label
        return s;
    }
    case Figure::Kind::unsupported:
        return "unsupported " + notes.ref("unsupported: " + f.why);
    case Figure::Kind::absent:
        return "n/a " + notes.ref(f.why);
    }
    return "";
}

std::string hook_text(const json& h, Notes& notes) {
    if (h.is_null()) return "-";
    if (h.contains("unsupported"))
        return "unsupported " + notes.ref("unsupported: " + h["unsupported"].get<std::string>());
    std::string mech = h.value("mechanism", "?");
    std::string count = h.value("count", "");
    if (count.empty() || count == mech) return mech;
    return mech + "/" + count;
}

std::string targets_text(const json& h) {
    if (!h.is_object() || !h.contains("targets") || !h["targets"].is_array()) return "";
    std::string s;
    for (const json& t : h["targets"])
        if (t.is_string()) s += (s.empty() ? "" : ",") + t.get<std::string>();
    return s;
}

// Wraps `text` after `first` to lines of at most 100 columns, continuation lines indented.
void wrapped(std::ostream& out, const std::string& first, const std::string& text) {
    constexpr size_t width = 100;
    const std::string indent(first.size(), ' ');
    std::istringstream words(text);
    std::string word, line = first;
    bool empty = true;
    while (words >> word) {
        if (!empty && line.size() + 1 + word.size() > width) {
            out << line << "\n";
            line = indent;
            empty = true;
        }
        line += (empty ? "" : " ") + word;
        empty = false;
    }
    out << line << "\n";
}

std::string passed_text(const json& p) {
    if (p.is_boolean()) return p.get<bool>() ? "passed" : "FAILED";
    return "?";
}

void header_line(std::ostream& out, const char* tag, const ReportSummary& r) {
    out << tag << r.path << "\n";
    std::string detail = "kernel " + (r.kernel_release.empty() ? "unknown" : r.kernel_release);
    if (!r.tool_version.empty()) detail += ", copyscope " + r.tool_version;
    if (!r.started_at.empty()) detail += ", started " + r.started_at;
    detail += ", " + std::to_string(r.cells) + " cells";
    if (!r.complete)
        detail += ", INCOMPLETE" + (r.interrupted.empty() ? "" : " (" + r.interrupted + ")");
    wrapped(out, std::string(std::char_traits<char>::length(tag), ' '), detail);
}

} // namespace

std::string render_table(const Comparison& c) {
    std::ostringstream out;
    Notes notes;
    out << "copyscope compare (threshold " << format_number(c.threshold_percent) << "%)\n";
    header_line(out, "A (baseline)  ", c.baseline);
    header_line(out, "B (candidate) ", c.candidate);
    const std::string ind(kIndent, ' ');

    for (const CellComparison& cc : c.cells) {
        out << "\n== " << describe(cc.key) << " ==  checks: " << passed_text(cc.passed_a) << " -> "
            << passed_text(cc.passed_b);
        if (cc.repetitions_a > 1 || cc.repetitions_b > 1)
            out << ", repetitions " << cc.repetitions_a << " -> " << cc.repetitions_b;
        out << "\n";
        out << ind << pad("", kLabel) << pad("A", kValue) << pad("B", kValue) << "change\n";
        size_t hidden_counters = 0;
        std::string zero_in_both;
        std::vector<std::pair<std::string, std::string>> not_in_either; // reason, labels
        for (const MetricDelta& m : cc.metrics) {
            // Figures neither side has go to one line per reason (counters only counted: on
            // a VM half of them are hardware events no side can have).
            if (m.group != "throughput" && !m.a.is_number() && !m.b.is_number()) {
                if (m.group == "counters") {
                    ++hidden_counters;
                } else {
                    std::string ref = "n/a in both";
                    if (m.a.kind == m.b.kind && m.a.why == m.b.why)
                        ref = (m.a.kind == Figure::Kind::unsupported
                                   ? "unsupported in both " + notes.ref("unsupported: " + m.a.why)
                                   : "n/a in both " + notes.ref(m.a.why));
                    auto it = std::find_if(not_in_either.begin(), not_in_either.end(),
                                           [&](const auto& p) { return p.first == ref; });
                    if (it == not_in_either.end())
                        it = not_in_either.insert(not_in_either.end(), {ref, ""});
                    it->second += (it->second.empty() ? "" : ", ") + m.label;
                }
                continue;
            }
            // Ledger fields that are 0 on both sides (pinned bytes of a one-copy cell...)
            // share one line, so the rows that carry information stand out.
            if (m.group == "ledger" && m.a.is_number() && m.b.is_number() && m.a.value == 0 &&
                m.b.value == 0) {
                zero_in_both += (zero_in_both.empty() ? "" : ", ") + m.label;
                continue;
            }
            std::string flag;
            if (m.movement == Movement::regressed) flag = "REGRESSED";
            if (m.movement == Movement::improved) flag = "improved";
            if (!m.note.empty()) flag += (flag.empty() ? "" : ", ") + m.note;
            std::string line = ind + pad(metric_label(m), kLabel) +
                               pad(cell_value(m, m.a, m.ci_a, notes), kValue) +
                               pad(cell_value(m, m.b, m.ci_b, notes), kValue) +
                               pad(format_change(m), kChange) + flag;
            while (!line.empty() && line.back() == ' ')
                line.pop_back();
            out << line << "\n";
        }
        if (!zero_in_both.empty()) wrapped(out, ind + "0 in both: ", zero_in_both);
        for (const auto& [ref, labels] : not_in_either)
            wrapped(out, ind + ref + ": ", labels);
        if (hidden_counters)
            out << ind << hidden_counters << " counter figures n/a in both (not shown)\n";
        const bool hooks_differ = std::any_of(cc.hooks.begin(), cc.hooks.end(),
                                              [](const HookDelta& h) { return h.differs; });
        auto any_side = [&](bool a) {
            return std::any_of(cc.hooks.begin(), cc.hooks.end(),
                               [&](const HookDelta& h) { return !(a ? h.a : h.b).is_null(); });
        };
        const bool a_hooks = any_side(true), b_hooks = any_side(false);
        // One line when there is nothing to set side by side.
        auto hook_list = [&](const std::string& head, bool a) {
            std::string list;
            for (const HookDelta& h : cc.hooks)
                list += (list.empty() ? "" : ", ") + h.hook + " " + hook_text(a ? h.a : h.b, notes);
            wrapped(out, ind + head, list);
        };
        if (a_hooks && !b_hooks) hook_list("hooks in A only (B not traced): ", true);
        if (b_hooks && !a_hooks) hook_list("hooks in B only (A not traced): ", false);
        if (a_hooks && b_hooks && !hooks_differ) hook_list("hooks, same in A and B: ", true);
        for (const HookDelta& h : cc.hooks) {
            if (!hooks_differ) break;
            std::string flag;
            if (h.differs) {
                flag = "DIFFERS";
                // Same form on different functions (tcp_sendmsg vs tcp_sendmsg_locked).
                const std::string ta = targets_text(h.a), tb = targets_text(h.b);
                if (hook_text(h.a, notes) == hook_text(h.b, notes) && ta != tb)
                    flag += ": " + ta + " vs " + tb;
            }
            std::string line = ind + pad("hook " + h.hook, kLabel) +
                               pad(hook_text(h.a, notes), kValue) +
                               pad(hook_text(h.b, notes), kValue) + flag;
            while (!line.empty() && line.back() == ' ')
                line.pop_back();
            out << line << "\n";
        }
        auto text = [](const json& v) {
            return v.is_string() ? v.get<std::string>() : std::string("none");
        };
        if (!cc.verdict_a.is_null() || !cc.verdict_b.is_null()) {
            if (cc.verdict_a == cc.verdict_b) {
                wrapped(out, ind + "verdict A = B: ", text(cc.verdict_a));
            } else {
                wrapped(out, ind + "verdict A: ", text(cc.verdict_a));
                wrapped(out, ind + "verdict B: ",
                        text(cc.verdict_b) + (cc.verdict_differs ? "  [DIFFERS]" : ""));
            }
        }
        for (auto [tag, list, error] : {std::tuple{"A", &cc.failed_checks_a, &cc.error_a},
                                        std::tuple{"B", &cc.failed_checks_b, &cc.error_b}}) {
            for (const std::string& f : *list)
                wrapped(out, ind + "failed check in " + tag + ": ", f);
            if (error->is_string())
                wrapped(out, ind + "error in " + tag + ": ", error->get<std::string>());
        }
    }
    if (c.cells.empty()) out << "\nNo cells in common.\n";

    out << "\n";
    for (auto [tag, list] : {std::pair{"A", &c.only_baseline}, std::pair{"B", &c.only_candidate}}) {
        if (list->empty()) continue;
        std::string names;
        for (size_t i = 0; i < list->size(); ++i)
            names += (i ? ", " : "") + describe((*list)[i]);
        wrapped(out,
                std::string("Only in ") + tag + " (" + std::to_string(list->size()) + "): ", names);
    }
    if (!notes.texts.empty()) {
        out << "Notes:\n";
        for (size_t i = 0; i < notes.texts.size(); ++i)
            wrapped(out, "  [" + std::to_string(i + 1) + "] ", notes.texts[i]);
    }
    const auto regressions = c.regressions();
    const std::string beyond = "beyond " + format_number(c.threshold_percent) + "%";
    if (regressions.empty()) {
        out << "No metric regressed " << beyond << " (" << c.cells.size() << " cells compared).\n";
    } else {
        out << "Regressed " << beyond << " (" << regressions.size() << "):\n";
        for (const std::string& r : regressions)
            wrapped(out, "  ", r);
    }
    return out.str();
}

nlohmann::json to_json(const Comparison& c) {
    auto report = [](const ReportSummary& r) {
        json j = {{"path", r.path},
                  {"kernel_release", r.kernel_release},
                  {"cpu_model", r.cpu_model},
                  {"started_at", r.started_at},
                  {"tool_version", r.tool_version},
                  {"complete", r.complete},
                  {"cells", r.cells}};
        if (!r.complete) j["interrupted"] = r.interrupted;
        return j;
    };
    json cells = json::array();
    for (const CellComparison& cc : c.cells) {
        json metrics = json::array();
        for (const MetricDelta& m : cc.metrics) {
            json jm = {{"group", m.group},
                       {"name", m.name},
                       {"label", m.label},
                       {"unit", m.unit},
                       {"direction", to_string(m.direction)},
                       {"a", figure_json(m.a)},
                       {"b", figure_json(m.b)},
                       {"change_percent", m.change ? json(*m.change) : json(nullptr)},
                       {"movement", to_string(m.movement)}};
            if (m.a.kind == Figure::Kind::absent) jm["a_missing"] = m.a.why;
            if (m.b.kind == Figure::Kind::absent) jm["b_missing"] = m.b.why;
            if (m.ci_a) jm["a_ci95"] = {m.ci_a->first, m.ci_a->second};
            if (m.ci_b) jm["b_ci95"] = {m.ci_b->first, m.ci_b->second};
            if (!m.note.empty()) jm["note"] = m.note;
            metrics.push_back(jm);
        }
        json hooks = json::array();
        for (const HookDelta& h : cc.hooks)
            hooks.push_back({{"hook", h.hook}, {"a", h.a}, {"b", h.b}, {"differs", h.differs}});
        cells.push_back(
            {{"key", to_json(cc.key)},
             {"label", describe(cc.key)},
             {"passed", {{"a", cc.passed_a}, {"b", cc.passed_b}}},
             {"failed_checks", {{"a", cc.failed_checks_a}, {"b", cc.failed_checks_b}}},
             {"error", {{"a", cc.error_a}, {"b", cc.error_b}}},
             {"checks_regressed", cc.checks_regressed},
             {"repetitions", {{"a", cc.repetitions_a}, {"b", cc.repetitions_b}}},
             {"metrics", metrics},
             {"hooks", hooks},
             {"verdict",
              {{"a", cc.verdict_a}, {"b", cc.verdict_b}, {"differs", cc.verdict_differs}}}});
    }
    json only_a = json::array(), only_b = json::array();
    for (const CellKey& k : c.only_baseline)
        only_a.push_back(to_json(k));
    for (const CellKey& k : c.only_candidate)
        only_b.push_back(to_json(k));
    const auto regressions = c.regressions();
    return {{"schema", "copyscope-compare"},
            {"schema_version", 1},
            {"threshold_percent", c.threshold_percent},
            {"baseline", report(c.baseline)},
            {"candidate", report(c.candidate)},
            {"cells", cells},
            {"only_in_baseline", only_a},
            {"only_in_candidate", only_b},
            {"regressions", regressions},
            {"regressed", !regressions.empty()}};
}

int run_compare(const CompareOptions& options, std::ostream& out, std::ostream& err) {
    // Check the threshold before reading anything: a usage error starts nothing.
    if (!std::isfinite(options.threshold_percent) || options.threshold_percent < 0)
        throw UsageError("--threshold " + format_number(options.threshold_percent) +
                         ": must be a percentage >= 0 (e.g. 5)");
    const json a = load_report(options.baseline_path);
    const json b = load_report(options.candidate_path);
    const Comparison c = compare_reports(a, b, options.threshold_percent, options.baseline_path,
                                         options.candidate_path);
    for (const ReportSummary* r : {&c.baseline, &c.candidate})
        if (!r->complete)
            err << "copyscope compare: warning: " << r->path
                << " is an incomplete run; its missing cells show as only in the other report\n";
    if (c.cells.empty())
        err << "copyscope compare: warning: the reports have no cells in common; nothing was "
               "compared\n";
    if (options.json)
        out << to_json(c).dump(2) << "\n";
    else
        out << render_table(c);
    return c.regressed() ? 1 : 0;
}

} // namespace copyscope
