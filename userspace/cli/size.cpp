#include "cli/size.h"

#include <cctype>
#include <limits>

#include "common/errors.h"

namespace copyscope {

uint64_t parse_size(const std::string& text, const std::string& what) {
    auto bad = [&](const std::string& why) {
        return UsageError(what + " '" + text + "': " + why +
                          " (allowed: a whole number of bytes, optionally with K, M or G, "
                          "e.g. 64, 4K, 64KiB, 1M)");
    };
    size_t i = 0;
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size() || !std::isdigit(static_cast<unsigned char>(text[i])))
        throw bad("not a size");
    uint64_t value = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
        uint64_t digit = uint64_t(text[i] - '0');
        if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) throw bad("too large");
        value = value * 10 + digit;
    }
    std::string unit;
    for (; i < text.size(); ++i)
        if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += char(std::toupper(text[i]));
    unsigned shift = 0;
    if (unit.empty() || unit == "B") shift = 0;
    else if (unit == "K" || unit == "KB" || unit == "KI" || unit == "KIB") shift = 10;
    else if (unit == "M" || unit == "MB" || unit == "MI" || unit == "MIB") shift = 20;
    else if (unit == "G" || unit == "GB" || unit == "GI" || unit == "GIB") shift = 30;
    else throw bad("unknown unit '" + unit + "'");
    if (shift && value > (std::numeric_limits<uint64_t>::max() >> shift)) throw bad("too large");
    return value << shift;
}

} // namespace copyscope
