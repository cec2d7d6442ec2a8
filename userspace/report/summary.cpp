#include "report/summary.h"

#include <algorithm>
#include <sstream>

namespace copyscope {

namespace {

std::string figure(const Measured<double>& m, int digits, const char* suffix = "") {
    return m ? fixed(*m, digits) + suffix : "unsupported";
}

// A ledger figure: a number, "unsupported" where the kernel could not tell, "-" untraced.
std::string copies_per_byte(const CellResult& c) {
    return c.ledger ? figure(c.ledger->copies_per_byte, 2) : "-";
}

// exact or inferred: the evidence of the copies per byte (its weakest hook).
std::string evidence(const CellResult& c) {
    if (!c.ledger || !c.ledger->copies_per_byte) return "-";
    return std::string(to_string(c.ledger->copies_per_byte.evidence()));
}

std::string deferred_percent(const CellResult& c) {
    if (!c.ledger || !c.ledger->deferred_copy_percent) return "-";
    return fixed(*c.ledger->deferred_copy_percent, 0) + "%";
}

// A per-thread derived counter figure; an unsupported one is marked and its reason kept
// for the footnote, so the table stays narrow and the reason is still said once.
std::string counter_figure(const CellResult& cell, const DerivedFigureDef& def, int digits,
                           std::vector<std::string>& reasons) {
    if (!cell.counters || !cell.counters->derived_thread) return "-";
    const Measured<double>& m = (*cell.counters->derived_thread).*def.field;
    if (m) return fixed(*m, digits);
    const std::string why = std::string(def.key) + ": " + m.reason();
    if (std::find(reasons.begin(), reasons.end(), why) == reasons.end()) reasons.push_back(why);
    return "unsupported*";
}

const DerivedFigureDef& derived_def(std::string_view key) {
    for (const DerivedFigureDef& d : derived_figures)
        if (d.key == key) return d;
    return derived_figures[0];
}

// The tracer's own BPF run time as a share of the cell's CPU time; the basis is said once
// below the table when it is not the machine's busy time.
std::string bpf_share(const CellResult& cell, std::vector<std::string>& notes) {
    if (!cell.tracer_cost) return "-";
    auto note = [&](const std::string& text) {
        if (std::find(notes.begin(), notes.end(), text) == notes.end()) notes.push_back(text);
    };
    const Measured<TracerCost>& cost = *cell.tracer_cost;
    if (!cost) {
        note("bpf %cpu: " + cost.reason());
        return "unsupported*";
    }
    const TracerCostShare share = *cell.tracer_cost_share();
    if (!share.cpu_percent) {
        note("bpf %cpu: " + share.cpu_percent.reason());
        return "unsupported*";
    }
    if (share.basis.source.rfind("wall time", 0) == 0)
        note("bpf %cpu: share of " + share.basis.source);
    return fixed(*share.cpu_percent, 2) + "%";
}

std::string status(const CellResult& cell) {
    if (!cell.error.empty()) return "FAILED: " + cell.error;
    std::string failed;
    for (const Check& c : cell.checks)
        if (!c.passed) failed += (failed.empty() ? "" : ", ") + c.name;
    if (!failed.empty()) return "CHECK FAILED: " + failed;
    if (cell.ledger && cell.ledger->verdict) return *cell.ledger->verdict;
    return "ok";
}

using Row = std::vector<std::string>;

// Numbers right-aligned, words left-aligned; the last column is free text.
std::string layout(const Row& header, const std::vector<Row>& rows) {
    std::vector<size_t> width(header.size());
    for (size_t i = 0; i < header.size(); ++i) {
        width[i] = header[i].size();
        for (const Row& r : rows)
            width[i] = std::max(width[i], r[i].size());
    }
    // Numbers right-aligned: every column from threads to the last but one, except the
    // evidence column (words).
    auto numeric = [&](size_t i) { return i >= 3 && i + 1 < header.size() && i != 9; };
    std::ostringstream out;
    auto line = [&](const Row& r) {
        for (size_t i = 0; i < r.size(); ++i) {
            if (i + 1 == r.size()) {
                out << r[i];
                break;
            }
            std::string pad(width[i] - r[i].size(), ' ');
            out << (numeric(i) ? pad + r[i] : r[i] + pad) << "  ";
        }
        out << '\n';
    };
    line(header);
    for (const Row& r : rows)
        line(r);
    return out.str();
}

// The strategy with its path when it is not a tcp stream received by copy, as the plots
// name it: "zero-copy udp gso 1472", "one-copy zerocopy-rx".
std::string strategy_label(const CellSpec& s) {
    std::string name(to_string(s.strategy));
    if (s.protocol == Protocol::udp) name += " udp";
    if (s.protocol == Protocol::udp && s.udp_gso > 0) name += " gso " + std::to_string(s.udp_gso);
    if (s.protocol == Protocol::udp && s.udp_cork) name += " cork";
    if (s.protocol == Protocol::udp && s.tx_checksum_off) name += " no-txcsum";
    if (s.receive == Receive::zerocopy) name += " zerocopy-rx";
    return name;
}

} // namespace

std::string summary_table(const std::vector<CellResult>& cells) {
    Row header = {"strategy", "transport", "size",     "threads",   "Gbit/s",   "msgs/s", "us/msg",
                  "copies/B", "deferred",  "evidence", "CPU-s/GiB", "cycles/B", "result"};
    // Runs without the tracer (and reports from before it measured itself) have no column.
    const bool cost = std::any_of(cells.begin(), cells.end(),
                                  [](const CellResult& c) { return c.tracer_cost.has_value(); });
    if (cost) header.insert(header.end() - 1, "bpf %cpu");
    std::vector<Row> rows;
    std::vector<std::string> unsupported;
    for (const CellResult& c : cells) {
        Row row = {strategy_label(c.spec),
                   std::string(to_string(c.spec.transport)),
                   format_size(c.spec.message_size),
                   std::to_string(c.spec.threads),
                   fixed(c.gbits_per_second(), 2),
                   fixed(c.messages_per_second(), 0),
                   fixed(c.microseconds_per_message(), 2),
                   copies_per_byte(c),
                   deferred_percent(c),
                   evidence(c),
                   counter_figure(c, derived_def("cpu_seconds_per_gib"), 2, unsupported),
                   counter_figure(c, derived_def("cycles_per_byte"), 2, unsupported)};
        if (cost) row.push_back(bpf_share(c, unsupported));
        row.push_back(status(c));
        rows.push_back(std::move(row));
    }
    std::string out = layout(header, rows);
    for (const std::string& why : unsupported)
        out += "* " + why + '\n';
    return out;
}

} // namespace copyscope
