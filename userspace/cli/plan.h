#pragma once
// What a run measures: the named presets, the lists of strategies, sizes, connection counts
// and transports a user may type, and the plan of cells built from them.
#include <string>
#include <vector>

#include "model/cell.h"

namespace copyscope {

inline constexpr unsigned kMaxThreads = 256;

// Cells a preset adds on other paths than TCP with recv(): UDP, zerocopy receive. Each
// list is crossed with the preset's threads and transports.
struct PathCells {
    Protocol protocol = Protocol::tcp;
    Receive receive = Receive::copy;
    uint32_t udp_gso = 0;
    std::vector<Strategy> strategies;
    std::vector<uint64_t> sizes;
};

// Named plans. Explicit --strategy/--size/--threads/--transport lists override the
// preset's own list for that dimension.
struct Preset {
    const char* name;
    const char* description;
    std::vector<Strategy> strategies;
    std::vector<uint64_t> sizes;
    std::vector<unsigned> threads;
    std::vector<Transport> transports;
    std::vector<PathCells> paths = {}; // kept unless --protocol, --receive or --udp-gso is given
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

// The path options of a run: lists of protocols and receive modes (empty: the preset's
// cells), and the GSO size for UDP cells.
struct PathChoice {
    std::vector<Protocol> protocols;
    std::vector<Receive> receives;
    uint32_t udp_gso = 0;
    bool udp_cork = false;        // udp cells: corked datagrams
    bool tx_checksum_off = false; // udp cells: the sender's veth without TX checksum offload
    bool explicit_strategies = false, explicit_sizes = false;
};
std::vector<Protocol> parse_protocols(const std::vector<std::string>& items);
std::vector<Receive> parse_receives(const std::vector<std::string>& items);
// The strategies that run over UDP.
bool runs_over_udp(Strategy s);
// The plan with its paths: the preset's path cells (filtered by explicit strategy and size
// lists), or, with explicit protocols/receive modes, every combination of them. Throws
// UsageError for a combination that cannot run (one line, before anything starts).
std::vector<CellSpec> plan_paths(const Preset& preset, const std::vector<Transport>& transports,
                                 const std::vector<Strategy>& strategies,
                                 const std::vector<uint64_t>& sizes,
                                 const std::vector<unsigned>& threads, const CellSpec& prototype,
                                 const PathChoice& choice);
// Throws UsageError when this cell's path cannot run: UDP with per-field, rr or nic, a UDP
// message above 65507 bytes without GSO, a GSO size above the lab's MTU less 28, corking
// with two-copy or GSO, TX checksum offload off without a veth, zerocopy receive over UDP or
// toward a sink.
void check_path(const CellSpec& cell);

} // namespace copyscope
