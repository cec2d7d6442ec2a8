#include "metrics/exposition.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string_view>

namespace copyscope {

namespace {

bool valid_name(std::string_view name, bool label) {
    auto first = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    };
    auto rest = [&](char c) { return first(c) || (c >= '0' && c <= '9'); };
    if (name.empty() || !first(name[0])) return false;
    if (label && name.substr(0, 2) == "__") return false; // reserved for Prometheus itself
    return std::all_of(name.begin() + 1, name.end(), rest);
}

bool camel_case(std::string_view name) {
    for (size_t i = 1; i < name.size(); ++i)
        if (name[i - 1] >= 'a' && name[i - 1] <= 'z' && name[i] >= 'A' && name[i] <= 'Z')
            return true;
    return false;
}

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "_word_" inside or "_word" at the end.
bool has_word(std::string_view name, std::string_view word) {
    std::string inner = "_" + std::string(word) + "_";
    return name.find(inner) != std::string_view::npos || ends_with(name, "_" + std::string(word));
}

std::vector<std::string_view> words(std::string_view name) {
    std::vector<std::string_view> out;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = std::min(name.find('_', start), name.size());
        out.push_back(name.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

// A unit word that is not the base unit promtool wants (milliseconds, kilobytes, bits...).
std::string non_base_unit(std::string_view name) {
    static constexpr std::array base{"amperes", "bytes",  "celsius", "grams",   "joules",
                                     "kelvin",  "meters", "metres",  "seconds", "volts"};
    static constexpr std::array other{"minutes",    "hours",    "days",   "weeks", "kelvins",
                                      "fahrenheit", "rankine",  "inches", "yards", "miles",
                                      "bits",       "calories", "pounds", "ounces"};
    static constexpr std::array prefixes{"pico", "nano",  "micro", "milli", "centi", "deci",
                                         "deca", "hecto", "kilo",  "kibi",  "mega",  "mibi",
                                         "giga", "gibi",  "tera",  "tebi",  "peta",  "pebi"};
    auto is_unit = [&](std::string_view w) {
        return std::find(base.begin(), base.end(), w) != base.end() ||
               std::find(other.begin(), other.end(), w) != other.end();
    };
    for (auto w : words(name)) {
        if (std::find(other.begin(), other.end(), w) != other.end()) return std::string(w);
        for (std::string_view p : prefixes)
            if (w.size() > p.size() && w.substr(0, p.size()) == p && is_unit(w.substr(p.size())))
                return std::string(w);
    }
    return "";
}

void check_name(const MetricFamily& f) {
    const std::string& n = f.name;
    auto fail = [&](const std::string& why) {
        throw std::invalid_argument("metric family '" + n + "': " + why);
    };
    if (!valid_name(n, false)) fail("not a valid metric name ([a-zA-Z_][a-zA-Z0-9_]*)");
    if (camel_case(n)) fail("camelCase; use snake_case");
    bool total = ends_with(n, "_total");
    if (f.type == MetricType::counter && !total) fail("a counter's name ends in _total");
    if (f.type != MetricType::counter && total) fail("only counters end in _total");
    for (std::string_view s : {"_bucket", "_count", "_sum"})
        if (ends_with(n, s)) fail("the suffix " + std::string(s) + " is for histograms/summaries");
    for (std::string_view t : {"counter", "gauge", "histogram", "summary"})
        if (has_word(n, t)) fail("the type '" + std::string(t) + "' is in the name");
    for (std::string_view a :
         {"s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"})
        if (has_word(n, a)) fail("the abbreviated unit '" + std::string(a) + "' is in the name");
    if (auto unit = non_base_unit(n); !unit.empty()) fail("'" + unit + "' is not a base unit");
    if (f.help.empty()) fail("no help text");
}

void check_labels(const MetricFamily& f) {
    std::set<std::vector<std::pair<std::string, std::string>>> seen;
    for (const auto& sample : f.samples) {
        std::set<std::string> names;
        for (const auto& [name, value] : sample.labels) {
            if (!valid_name(name, true) || camel_case(name) || name == "le" || name == "quantile")
                throw std::invalid_argument("metric family '" + f.name + "': label name '" + name +
                                            "' is not allowed");
            if (!names.insert(name).second)
                throw std::invalid_argument("metric family '" + f.name + "': label '" + name +
                                            "' given twice in one sample");
        }
        auto key = sample.labels;
        std::sort(key.begin(), key.end());
        if (!seen.insert(key).second)
            throw std::invalid_argument("metric family '" + f.name +
                                        "': two samples with the same labels");
    }
}

// Length of the valid UTF-8 sequence at s[i], 0 when it is not one.
size_t utf8_length(std::string_view s, size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k)
        if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
    auto c1 = len > 1 ? static_cast<unsigned char>(s[i + 1]) : 0;
    if (len == 2 && c < 0xC2) return 0; // overlong
    if (len == 3 && ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))) return 0;
    if (len == 4 && ((c == 0xF0 && c1 < 0x90) || c > 0xF4 || (c == 0xF4 && c1 >= 0x90)))
        return 0; // overlong, surrogates, beyond U+10FFFF
    return len;
}

// Escapes \ and newline (and " in label values); bytes that are not UTF-8 (a comm may
// hold any) become U+FFFD, which Prometheus accepts, where they would fail the scrape.
std::string escape(std::string_view s, bool quote) {
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        char c = s[i];
        size_t len = utf8_length(s, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && quote)
            out += "\\\"";
        else
            out.append(s.substr(i, len));
        i += len;
    }
    return out;
}

std::string format_value(const std::variant<uint64_t, double>& value) {
    char buf[64];
    if (auto* u = std::get_if<uint64_t>(&value)) {
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *u);
        return std::string(buf, end);
    }
    double d = std::get<double>(value);
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, end);
}

} // namespace

void validate(const MetricFamily& family) {
    check_name(family);
    check_labels(family);
}

std::string escape_label_value(const std::string& value) {
    return escape(value, true);
}

std::string render_exposition(const std::vector<MetricFamily>& families) {
    std::set<std::string> names;
    std::string out;
    for (const auto& f : families) {
        validate(f);
        if (!names.insert(f.name).second)
            throw std::invalid_argument("metric family '" + f.name + "' given twice");
        out += "# HELP " + f.name + " " + escape(f.help, false) + "\n";
        out += "# TYPE " + f.name + (f.type == MetricType::counter ? " counter\n" : " gauge\n");
        for (const auto& sample : f.samples) {
            out += f.name;
            if (!sample.labels.empty()) {
                out += "{";
                for (size_t i = 0; i < sample.labels.size(); ++i) {
                    if (i) out += ",";
                    out += sample.labels[i].first + "=\"" + escape(sample.labels[i].second, true) +
                           "\"";
                }
                out += "}";
            }
            out += " " + format_value(sample.value) + "\n";
        }
    }
    return out;
}

} // namespace copyscope
