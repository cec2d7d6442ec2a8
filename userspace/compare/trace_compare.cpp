#include "compare/trace_compare.h"

#include <algorithm>
#include <map>
#include <sstream>

#include "compare/metrics.h"
#include "compare/render_json.h"

namespace copyscope {
namespace {

constexpr double kMiB = 1 << 20;

Figure per_byte_sent(const TraceFigures& f, const Measured<uint64_t>& m, double scale) {
    Figure fig = figure_of(m, "not in the report");
    if (!fig.is_number()) return fig;
    if (!f.bytes_sent) return Figure::unsupported_because("bytes sent: " + f.bytes_sent.reason());
    if (*f.bytes_sent == 0) return Figure::unsupported_because("no bytes were sent");
    return Figure::number_of(fig.value / double(*f.bytes_sent) * scale);
}

Figure copied_share(const TraceFigures& f) {
    const TraceCompletions& c = f.completions;
    if (!c.sends || !c.copied) return figure_of(c.copied, "no completions in the report");
    if (*c.sends == 0) return Figure::absent_because("no MSG_ZEROCOPY completions");
    return Figure::number_of(100.0 * double(*c.copied) / double(*c.sends));
}

// Rows where neither side has a number say nothing: left out.
void keep(std::vector<MetricDelta>& out, MetricDelta d) {
    if (d.a.is_number() || d.b.is_number()) out.push_back(std::move(d));
}

// ---- matching ----------------------------------------------------------------------------------

uint16_t service_port(const ConnectionLedger& c) {
    if (c.remote.port == 0) return c.local.port; // unconnected UDP
    return std::min(c.local.port, c.remote.port);
}

std::string protocol_name(TraceProtocol p) {
    return p == TraceProtocol::udp ? "udp" : "tcp";
}

uint64_t sent(const TraceFigures& f) {
    return f.bytes_sent.value_or(0);
}

// Groups items by key, each group in order of bytes sent (largest first), so that the i-th of
// a group on one side meets the i-th on the other.
template <class T, class KeyOf>
std::map<std::string, std::vector<const T*>> grouped(const std::vector<T>& items, KeyOf key_of,
                                                     uint64_t (*bytes)(const T&)) {
    std::map<std::string, std::vector<const T*>> g;
    for (const T& it : items)
        g[key_of(it)].push_back(&it);
    for (auto& [k, v] : g)
        std::stable_sort(v.begin(), v.end(),
                         [&](const T* x, const T* y) { return bytes(*x) > bytes(*y); });
    return g;
}

uint64_t process_bytes(const ProcessLedger& p) {
    return sent(p.totals);
}
uint64_t connection_bytes(const ConnectionLedger& c) {
    return sent(c.ledger);
}

std::string numbered(const std::string& name, size_t i, size_t n) {
    return n > 1 ? name + " #" + std::to_string(i + 1) : name;
}

// Pairs the groups of two sides; `on_pair` gets (name, a, b), the unpaired go to the lists.
template <class T, class OnPair>
void pair_groups(const std::map<std::string, std::vector<const T*>>& a,
                 const std::map<std::string, std::vector<const T*>>& b, const std::string& prefix,
                 TraceComparison& out, OnPair on_pair) {
    for (const auto& [key, as] : a) {
        auto it = b.find(key);
        const size_t nb = it == b.end() ? 0 : it->second.size();
        const size_t n = std::max(as.size(), nb);
        for (size_t i = 0; i < n; ++i) {
            const std::string name = numbered(prefix + key, i, n);
            if (i < as.size() && i < nb)
                on_pair(name, *as[i], *it->second[i]);
            else if (i < as.size())
                out.only_baseline.push_back(name);
            else
                out.only_candidate.push_back(name);
        }
    }
    for (const auto& [key, bs] : b)
        if (!a.count(key))
            for (size_t i = 0; i < bs.size(); ++i)
                out.only_candidate.push_back(numbered(prefix + key, i, bs.size()));
}

void compare_connections(const ProcessLedger& a, const ProcessLedger& b, const std::string& name,
                         double threshold, TraceComparison& out) {
    auto key = [](const ConnectionLedger& c) {
        return protocol_name(c.protocol) + " port " + std::to_string(service_port(c));
    };
    const auto ga = grouped(a.connections, key, connection_bytes);
    const auto gb = grouped(b.connections, key, connection_bytes);
    pair_groups(
        ga, gb, name + " ", out,
        [&](const std::string& where, const ConnectionLedger& x, const ConnectionLedger& y) {
            out.rows.push_back(
                {where, trace_metrics(x.ledger, y.ledger, threshold), x.verdict, y.verdict});
        });
}

TraceSideSummary summary_of(const TraceReport& r, const std::string& path) {
    return {path, r.host.kernel_release, r.started_at, r.scope.description, r.duration_seconds};
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

std::string value_text(const Figure& f) {
    switch (f.kind) {
    case Figure::Kind::number:
        return format_number(f.value);
    case Figure::Kind::unsupported:
        return "unsupported";
    case Figure::Kind::absent:
        return "-";
    }
    return "-";
}

} // namespace

std::vector<MetricDelta> trace_metrics(const TraceFigures& a, const TraceFigures& b,
                                       double threshold) {
    std::vector<MetricDelta> out;
    keep(out, make_delta("trace", "mib_sent", "sent", "MiB", Direction::informational,
                         a.bytes_sent ? Figure::number_of(*a.bytes_sent / kMiB)
                                      : figure_of(a.bytes_sent, "not in the report"),
                         b.bytes_sent ? Figure::number_of(*b.bytes_sent / kMiB)
                                      : figure_of(b.bytes_sent, "not in the report"),
                         threshold));
    keep(out, make_delta("ledger", "send_copies_per_byte", "send copies per byte", "",
                         Direction::lower_is_better,
                         figure_of(a.send_copies_per_byte, "not in the report"),
                         figure_of(b.send_copies_per_byte, "not in the report"), threshold));
    for (const ByteFigureDef& def : byte_figures) {
        const double scale = def.key.ends_with("_bytes") ? 1 : kMiB;
        keep(out, make_delta("ledger", std::string(def.key), byte_figure_label(def.key), "",
                             byte_figure_direction(def.key),
                             per_byte_sent(a, a.figures.*def.field, scale),
                             per_byte_sent(b, b.figures.*def.field, scale), threshold));
    }
    keep(out, make_delta("ledger", "sent_by_reference_bytes", "sent by reference /B", "",
                         Direction::informational, per_byte_sent(a, a.sent_by_reference_bytes, 1),
                         per_byte_sent(b, b.sent_by_reference_bytes, 1), threshold));
    keep(out, make_delta("zerocopy", "completions_copied_percent", "completions COPIED", "%",
                         Direction::lower_is_better, copied_share(a), copied_share(b), threshold));
    return out;
}

TraceComparison compare_traces(const TraceReport& a, const TraceReport& b, double threshold,
                               const std::string& path_a, const std::string& path_b) {
    TraceComparison c;
    c.threshold_percent = threshold;
    c.baseline = summary_of(a, path_a);
    c.candidate = summary_of(b, path_b);
    c.rows.push_back({"scope", trace_metrics(a.totals, b.totals, threshold), {}, {}});
    auto comm = [](const ProcessLedger& p) { return p.comm.empty() ? "(no process)" : p.comm; };
    const auto ga = grouped(a.processes, comm, process_bytes);
    const auto gb = grouped(b.processes, comm, process_bytes);
    pair_groups(ga, gb, "", c,
                [&](const std::string& name, const ProcessLedger& x, const ProcessLedger& y) {
                    c.rows.push_back({name, trace_metrics(x.totals, y.totals, threshold), {}, {}});
                    compare_connections(x, y, name, threshold, c);
                });
    return c;
}

std::vector<std::string> TraceComparison::regressions() const {
    std::vector<std::string> out;
    for (const TraceRowComparison& r : rows)
        for (const MetricDelta& m : r.metrics)
            if (m.movement == Movement::regressed)
                out.push_back(r.where + ": " + metric_label(m) + " " + format_number(m.a.value) +
                              " -> " + format_number(m.b.value) + " (" + format_change(m) + ")");
    return out;
}

std::string render_trace_table(const TraceComparison& c) {
    std::ostringstream out;
    for (const auto& [tag, s] : {std::pair("A", &c.baseline), std::pair("B", &c.candidate)})
        out << tag << ": " << s->path << "  (trace of " << s->scope << ", " << s->kernel_release
            << ", " << s->started_at << ", " << format_number(s->duration_seconds) << " s)\n";
    for (const TraceRowComparison& r : c.rows) {
        out << "\n" << r.where << "\n";
        for (const MetricDelta& m : r.metrics) {
            out << "  " << pad(metric_label(m), 28) << pad(value_text(m.a), 14)
                << pad(value_text(m.b), 14) << pad(format_change(m), 14);
            if (m.movement == Movement::regressed || m.movement == Movement::improved)
                out << to_string(m.movement);
            out << "\n";
        }
        if (r.verdict_a && r.verdict_b && *r.verdict_a != *r.verdict_b)
            out << "  verdict A: " << *r.verdict_a << "\n  verdict B: " << *r.verdict_b << "\n";
    }
    for (const std::string& s : c.only_baseline)
        out << "\nonly in A: " << s;
    for (const std::string& s : c.only_candidate)
        out << "\nonly in B: " << s;
    if (!c.only_baseline.empty() || !c.only_candidate.empty()) out << "\n";
    const auto regressed = c.regressions();
    out << "\n"
        << (regressed.empty() ? "no metric regressed beyond " : "regressed beyond ")
        << format_number(c.threshold_percent) << "%" << (regressed.empty() ? "\n" : ":\n");
    for (const std::string& r : regressed)
        out << "  " << r << "\n";
    return out.str();
}

nlohmann::json to_json(const TraceComparison& c) {
    nlohmann::json rows = nlohmann::json::array();
    for (const TraceRowComparison& r : c.rows) {
        nlohmann::json metrics = nlohmann::json::array();
        for (const MetricDelta& m : r.metrics)
            metrics.push_back(metric_json(m));
        nlohmann::json row = {{"where", r.where}, {"metrics", metrics}};
        if (r.verdict_a) row["verdict_a"] = *r.verdict_a;
        if (r.verdict_b) row["verdict_b"] = *r.verdict_b;
        rows.push_back(std::move(row));
    }
    auto side = [](const TraceSideSummary& s) {
        return nlohmann::json{{"path", s.path},
                              {"kernel_release", s.kernel_release},
                              {"started_at", s.started_at},
                              {"scope", s.scope},
                              {"duration_seconds", s.duration_seconds}};
    };
    return {{"schema", "copyscope-trace-compare"},
            {"baseline", side(c.baseline)},
            {"candidate", side(c.candidate)},
            {"threshold_percent", c.threshold_percent},
            {"rows", rows},
            {"only_baseline", c.only_baseline},
            {"only_candidate", c.only_candidate},
            {"regressions", c.regressions()}};
}

} // namespace copyscope
