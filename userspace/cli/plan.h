#pragma once
// What a run measures: the named presets, the lists of strategies, sizes, connection counts
// and transports a user may type, and the plan of cells built from them.
#include <string>
#include <vector>

#include "model/cell.h"

namespace copyscope {

inline constexpr unsigned kMaxThreads = 256;

// Named plans. Explicit --strategy/--size/--threads/--transport lists override the
// preset's own list for that dimension.
struct Preset {
    const char* name;
    const char* description;
    std::vector<Strategy> strategies;
    std::vector<uint64_t> sizes;
    std::vector<unsigned> threads;
    std::vector<Transport> transports;
};
const std::vector<Preset>& presets();
// The preset of this name; UsageError naming the allowed ones otherwise.
const Preset& find_preset(const std::string& name);
// "quick: ...; seeds: ...; full: ..." for the help text.
std::string preset_descriptions();

// The lists as typed (repeated or comma-separated items); each throws UsageError naming the
// option, the bad item and what is allowed.
std::string strategy_names(); // "two-copy, per-field, one-copy, zero-copy, all"
std::vector<Strategy> parse_strategies(const std::vector<std::string>& items);
std::vector<Transport> parse_transports(const std::vector<std::string>& items);
std::vector<uint64_t> parse_sizes(const std::vector<std::string>& items);
std::vector<unsigned> parse_threads(const std::vector<std::string>& items);

// The plan of cells for these lists, in a stable order: transport, strategy, size, threads.
// Every combination of the lists, each cell a copy of `prototype`.
std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, const CellSpec& prototype);

} // namespace copyscope
