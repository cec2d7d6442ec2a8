#pragma once
// Small readers for the text files of /proc and of cgroupfs.
#include <optional>
#include <string>

namespace copyscope {

// The whole file (these files are small and are read at once so that the kernel produces
// them in one go); nullopt with errno set when it cannot be opened or read.
std::optional<std::string> read_text_file(const std::string& path);

// Writes `text` to an existing file (cgroup.kill, cgroup.procs); false with errno set.
bool write_text_file(const std::string& path, const std::string& text);

// A decimal number from 1 to `max` and nothing else (no sign, spaces or leading zeros).
std::optional<long long> parse_positive(const std::string& text, long long max);

} // namespace copyscope
