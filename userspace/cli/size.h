#pragma once
// Byte sizes as users type them: 64, 4K, 4k, 4KB, 4KiB, 1M, 1MiB, 2G... K, KB and KiB all
// mean 1024 (as in iperf3's -l).
#include <cstdint>
#include <string>

namespace copyscope {

// Throws UsageError naming `what` (e.g. "--size") and the bad text.
uint64_t parse_size(const std::string& text, const std::string& what);

} // namespace copyscope
