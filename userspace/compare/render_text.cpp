// The comparison as a table for people: per cell its metrics in A, B and the change, the
// hook forms, the verdicts and failed checks; long reasons as numbered notes at the end.
#include "compare/render_text.h"

#include <algorithm>
#include <sstream>
#include <tuple>

#include "common/format.h"
#include "compare/compare.h"

namespace copyscope {
namespace {

constexpr int kIndent = 2, kLabel = 26, kValue = 19, kChange = 9;
const std::string ind(kIndent, ' ');

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

std::string trimmed(std::string line) {
    while (!line.empty() && line.back() == ' ')
        line.pop_back();
    return line;
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

std::string cell_value(const MetricDelta& m, const Figure& f, const std::optional<Interval>& ci,
                       Notes& notes) {
    switch (f.kind) {
    case Figure::Kind::number: {
        std::string s = format_number(f.value);
        if (ci) s += " ±" + significant((ci->second - ci->first) / 2, 2);
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

std::string hook_text(const std::optional<Measured<HookChoice>>& h, Notes& notes) {
    if (!h) return "-";
    if (!*h) return "unsupported " + notes.ref("unsupported: " + h->reason());
    const std::string mech(to_string((*h)->mechanism)), count(to_string(h->evidence()));
    return count == mech ? mech : mech + "/" + count;
}

std::string targets_text(const std::optional<Measured<HookChoice>>& h) {
    std::string s;
    if (h && *h)
        for (const std::string& t : (*h)->targets)
            s += (s.empty() ? "" : ",") + t;
    return s;
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

// Rows neither side can fill, gathered in one line per reason; counters only counted (on a
// VM half of them are hardware events no side can have); ledger fields that are 0 on both
// sides (pinned bytes of a one-copy cell...) in one line, so the rows that carry
// information stand out.
struct Gathered {
    size_t hidden_counters = 0;
    std::string zero_in_both;
    std::vector<std::pair<std::string, std::string>> not_in_either; // reason, labels

    bool take(const MetricDelta& m, Notes& notes) {
        if (m.group != "throughput" && !m.a.is_number() && !m.b.is_number()) {
            if (m.group == "counters") {
                ++hidden_counters;
                return true;
            }
            std::string ref = "n/a in both";
            if (m.a.kind == m.b.kind && m.a.why == m.b.why)
                ref = m.a.kind == Figure::Kind::unsupported
                          ? "unsupported in both " + notes.ref("unsupported: " + m.a.why)
                          : "n/a in both " + notes.ref(m.a.why);
            auto it = std::find_if(not_in_either.begin(), not_in_either.end(),
                                   [&](const auto& p) { return p.first == ref; });
            if (it == not_in_either.end())
                it = not_in_either.insert(not_in_either.end(), {ref, ""});
            it->second += (it->second.empty() ? "" : ", ") + m.label;
            return true;
        }
        if (m.group == "ledger" && m.a.is_number() && m.b.is_number() && m.a.value == 0 &&
            m.b.value == 0) {
            zero_in_both += (zero_in_both.empty() ? "" : ", ") + m.label;
            return true;
        }
        return false;
    }

    void print(std::ostream& out) const {
        if (!zero_in_both.empty()) wrapped(out, ind + "0 in both: ", zero_in_both);
        for (const auto& [ref, labels] : not_in_either)
            wrapped(out, ind + ref + ": ", labels);
        if (hidden_counters)
            out << ind << hidden_counters << " counter figures n/a in both (not shown)\n";
    }
};

void render_metrics(std::ostream& out, const CellComparison& cc, Notes& notes) {
    out << ind << pad("", kLabel) << pad("A", kValue) << pad("B", kValue) << "change\n";
    Gathered gathered;
    for (const MetricDelta& m : cc.metrics) {
        if (gathered.take(m, notes)) continue;
        std::string flag;
        if (m.movement == Movement::regressed) flag = "REGRESSED";
        if (m.movement == Movement::improved) flag = "improved";
        if (!m.note.empty()) flag += (flag.empty() ? "" : ", ") + m.note;
        out << trimmed(ind + pad(metric_label(m), kLabel) +
                       pad(cell_value(m, m.a, m.ci_a, notes), kValue) +
                       pad(cell_value(m, m.b, m.ci_b, notes), kValue) +
                       pad(format_change(m), kChange) + flag)
            << "\n";
    }
    gathered.print(out);
}

// One line when there is nothing to set side by side; else a row per hook.
void render_hooks(std::ostream& out, const CellComparison& cc, Notes& notes) {
    const auto& hooks = cc.hooks;
    const bool differ = std::any_of(hooks.begin(), hooks.end(), [](auto& h) { return h.differs; });
    const bool in_a = std::any_of(hooks.begin(), hooks.end(), [](auto& h) { return bool(h.a); });
    const bool in_b = std::any_of(hooks.begin(), hooks.end(), [](auto& h) { return bool(h.b); });
    auto list = [&](const std::string& head, bool a) {
        std::string text;
        for (const HookDelta& h : hooks)
            text += (text.empty() ? "" : ", ") + h.hook + " " + hook_text(a ? h.a : h.b, notes);
        wrapped(out, ind + head, text);
    };
    if (in_a && !in_b) list("hooks in A only (B not traced): ", true);
    if (in_b && !in_a) list("hooks in B only (A not traced): ", false);
    if (in_a && in_b && !differ) list("hooks, same in A and B: ", true);
    if (!differ) return;
    for (const HookDelta& h : hooks) {
        const std::string ta = hook_text(h.a, notes), tb = hook_text(h.b, notes);
        std::string flag;
        if (h.differs) {
            flag = "DIFFERS";
            // Same form on different functions (tcp_sendmsg vs tcp_sendmsg_locked).
            if (ta == tb && targets_text(h.a) != targets_text(h.b))
                flag += ": " + targets_text(h.a) + " vs " + targets_text(h.b);
        }
        out << trimmed(ind + pad("hook " + h.hook, kLabel) + pad(ta, kValue) + pad(tb, kValue) +
                       flag)
            << "\n";
    }
}

void render_outcome(std::ostream& out, const CellComparison& cc) {
    auto text = [](const std::optional<std::string>& v) { return v.value_or("none"); };
    if (cc.verdict_a || cc.verdict_b) {
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
        if (!error->empty()) wrapped(out, ind + "error in " + tag + ": ", *error);
    }
}

void render_cell(std::ostream& out, const CellComparison& cc, Notes& notes) {
    auto passed = [](bool p) { return p ? "passed" : "FAILED"; };
    out << "\n== " << describe(cc.key) << " ==  checks: " << passed(cc.passed_a) << " -> "
        << passed(cc.passed_b);
    if (cc.repetitions_a > 1 || cc.repetitions_b > 1)
        out << ", repetitions " << cc.repetitions_a << " -> " << cc.repetitions_b;
    out << "\n";
    render_metrics(out, cc, notes);
    render_hooks(out, cc, notes);
    render_outcome(out, cc);
}

void render_footer(std::ostream& out, const Comparison& c, const Notes& notes) {
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
        return;
    }
    out << "Regressed " << beyond << " (" << regressions.size() << "):\n";
    for (const std::string& r : regressions)
        wrapped(out, "  ", r);
}

} // namespace

std::string render_table(const Comparison& c) {
    std::ostringstream out;
    Notes notes;
    out << "copyscope compare (threshold " << format_number(c.threshold_percent) << "%)\n";
    header_line(out, "A (baseline)  ", c.baseline);
    header_line(out, "B (candidate) ", c.candidate);
    for (const CellComparison& cc : c.cells)
        render_cell(out, cc, notes);
    if (c.cells.empty()) out << "\nNo cells in common.\n";
    render_footer(out, c, notes);
    return out.str();
}

} // namespace copyscope
