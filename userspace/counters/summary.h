#pragma once
// One short line about a cell's counters for progress and summaries, e.g.
// "task-clock 1.23 CPU-s/GiB, 812 cs/s, hw: unsupported (ENOENT)" or "counters: none".
#include <optional>
#include <string>

#include "model/counters.h"

namespace copyscope {

std::string counters_summary(const std::optional<CounterResult>& counters);

} // namespace copyscope
