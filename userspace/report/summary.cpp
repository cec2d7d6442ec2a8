#include "report/summary.h"

#include <algorithm>
#include <sstream>

namespace copyscope {

namespace {

// A ledger figure: a number, or "unsupported" where the kernel could not tell.
std::string ledger_figure(const nlohmann::json& ledger, const char* key, int digits,
                          const char* suffix = "") {
    if (!ledger.is_object() || !ledger.contains(key)) return "-";
    const nlohmann::json& v = ledger.at(key);
    if (v.is_number()) return fixed(v.get<double>(), digits) + suffix;
    if (v.is_object() && v.contains("unsupported")) return "unsupported";
    return "-";
}

// A per-thread derived counter figure; an unsupported one is marked and its reason kept
// for the footnote, so the table stays narrow and the reason is still said once.
std::string counter_figure(const CellResult& cell, const char* key, int digits,
                           std::vector<std::string>& reasons) {
    const nlohmann::json& c = cell.counters;
    if (!c.is_object() || !c.contains("derived") || !c["derived"].contains("thread")) return "-";
    const nlohmann::json& d = c["derived"]["thread"];
    if (!d.contains(key)) return "-";
    if (d[key].is_number()) return fixed(d[key].get<double>(), digits);
    if (d[key].is_object() && d[key].contains("unsupported")) {
        std::string why = std::string(key) + ": " + d[key]["unsupported"].get<std::string>();
        if (std::find(reasons.begin(), reasons.end(), why) == reasons.end()) reasons.push_back(why);
        return "unsupported*";
    }
    return "-";
}

std::string status(const CellResult& cell) {
    if (!cell.error.empty()) return "FAILED: " + cell.error;
    std::string failed;
    for (const Check& c : cell.checks)
        if (!c.passed) failed += (failed.empty() ? "" : ", ") + c.name;
    if (!failed.empty()) return "CHECK FAILED: " + failed;
    if (cell.ledger.is_object() && cell.ledger.contains("verdict") &&
        cell.ledger.at("verdict").is_string())
        return cell.ledger.at("verdict").get<std::string>();
    return "ok";
}

} // namespace

std::string summary_table(const std::vector<CellResult>& cells) {
    const std::vector<std::string> header = {
        "strategy", "transport", "size",      "threads",  "Gbit/s", "msgs/s",
        "us/msg",   "copies/B",  "deferred",  "CPU-s/GiB", "cycles/B", "result"};
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> unsupported;
    for (const CellResult& c : cells) {
        rows.push_back({std::string(to_string(c.spec.strategy)),
                        std::string(to_string(c.spec.transport)), format_size(c.spec.message_size),
                        std::to_string(c.spec.threads), fixed(c.gbits_per_second(), 2),
                        fixed(c.messages_per_second(), 0), fixed(c.microseconds_per_message(), 2),
                        ledger_figure(c.ledger, "copies_per_byte", 2),
                        ledger_figure(c.ledger, "deferred_copy_percent", 0, "%"),
                        counter_figure(c, "cpu_seconds_per_gib", 2, unsupported),
                        counter_figure(c, "cycles_per_byte", 2, unsupported), status(c)});
    }
    std::vector<size_t> width(header.size());
    for (size_t i = 0; i < header.size(); ++i) {
        width[i] = header[i].size();
        for (auto& r : rows) width[i] = std::max(width[i], r[i].size());
    }
    // Numbers right-aligned, words left-aligned; the last column is free text.
    auto numeric = [](size_t i) { return i >= 3 && i <= 10; };
    std::ostringstream out;
    auto line = [&](const std::vector<std::string>& r) {
        for (size_t i = 0; i < r.size(); ++i) {
            std::string cell = r[i];
            if (i + 1 == r.size()) {
                out << cell;
                break;
            }
            std::string pad(width[i] - cell.size(), ' ');
            out << (numeric(i) ? pad + cell : cell + pad) << "  ";
        }
        out << '\n';
    };
    line(header);
    for (auto& r : rows) line(r);
    for (const std::string& why : unsupported) out << "* " << why << '\n';
    return out.str();
}

} // namespace copyscope
