#include "common/format.h"

#include <cmath>
#include <cstdio>

namespace copyscope {

std::string fixed(double value, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    return buf;
}

std::string significant(double value, int digits) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*g", digits, value);
    return buf;
}

std::string format_percent(double p) {
    // Never "100%" for a share that is not whole, never "0%" for one that is not empty.
    const double r = std::round(p);
    const bool edge = (r == 100 && p < 100) || (r == 0 && p > 0);
    if (std::fabs(p - r) < 0.05 && !edge) return fixed(r, 0) + "%";
    std::string s = fixed(p, 1);
    if (s == "100.0" && p < 100) return ">99.9%";
    if (s == "0.0" && p > 0) return "<0.1%";
    return s + "%";
}

std::string format_bytes(uint64_t bytes) {
    return std::to_string(bytes) + " B";
}

std::string format_size(uint64_t bytes) {
    if (bytes >= (1ull << 20) && bytes % (1ull << 20) == 0)
        return std::to_string(bytes >> 20) + "MiB";
    if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + "KiB";
    return std::to_string(bytes);
}

} // namespace copyscope
