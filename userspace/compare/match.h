#pragma once
// Which cell of the baseline goes with which of the candidate: cells match by their
// parameters (strategy, transport, message size, connections, pattern), the n-th of a kind in
// A with the n-th in B (a plan may repeat a cell).
#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/cell.h"

namespace copyscope {

struct CellKey {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    uint64_t message_size = 0;
    uint64_t threads = 0;
    Pattern pattern = Pattern::stream; // absent in older reports: they only streamed
    // The path: absent in older reports, a tcp stream received by copy.
    Protocol protocol = Protocol::tcp;
    uint32_t udp_gso = 0;
    Receive receive = Receive::copy;
    auto operator<=>(const CellKey&) const = default;
};

CellKey cell_key(const CellResult& cell);
std::string describe(const CellKey& key); // "zero-copy veth 64KiB x1" (+ " rr")
nlohmann::json to_json(const CellKey& key);

struct CellPair {
    CellKey key;
    const CellResult* baseline = nullptr;
    const CellResult* candidate = nullptr;
};

struct CellMatching {
    std::vector<CellPair> matched;      // in the baseline's order
    std::vector<CellKey> only_baseline; // in each report's own order
    std::vector<CellKey> only_candidate;
};

CellMatching match_cells(const std::vector<CellResult>& baseline,
                         const std::vector<CellResult>& candidate);

} // namespace copyscope
