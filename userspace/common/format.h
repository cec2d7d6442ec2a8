#pragma once
// Numbers as copyscope prints them, in one place: fixed decimals, significant digits,
// shares in percent, byte counts and message sizes.
#include <cstdint>
#include <string>

namespace copyscope {

// printf "%.*f": fixed(2.5, 2) == "2.50".
std::string fixed(double value, int decimals);

// printf "%.*g": significant(0.6572, 3) == "0.657".
std::string significant(double value, int digits);

// "12%", "99.6%", "100%": whole numbers unless that would round a partial share to 0 or 100
// (then ">99.9%" or "<0.1%").
std::string format_percent(double percent);

// "1048576 B".
std::string format_bytes(uint64_t bytes);

// 64, 4KiB, 1MiB: exact binary units when they divide, else bytes.
std::string format_size(uint64_t bytes);

} // namespace copyscope
