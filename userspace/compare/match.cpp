#include "compare/match.h"

#include <map>

#include "common/format.h"

namespace copyscope {

CellKey cell_key(const CellResult& cell) {
    const CellSpec& s = cell.spec;
    return {s.strategy, s.transport, s.message_size, s.threads,
            s.pattern,  s.protocol,  s.udp_gso,      s.receive};
}

std::string describe(const CellKey& k) {
    std::string size = format_size(k.message_size);
    if (size.find_first_not_of("0123456789") == std::string::npos) size += "B";
    std::string s = std::string(to_string(k.strategy)) + " " + std::string(to_string(k.transport)) +
                    " " + size + " x" + std::to_string(k.threads);
    if (k.pattern != Pattern::stream) s += " " + std::string(to_string(k.pattern));
    if (k.protocol != Protocol::tcp) s += " " + std::string(to_string(k.protocol));
    if (k.udp_gso > 0) s += " gso " + std::to_string(k.udp_gso);
    if (k.receive != Receive::copy) s += " " + std::string(to_string(k.receive)) + "-rx";
    return s;
}

nlohmann::json to_json(const CellKey& k) {
    nlohmann::json j = {{"strategy", to_string(k.strategy)},
                        {"transport", to_string(k.transport)},
                        {"message_size", k.message_size},
                        {"threads", k.threads},
                        {"pattern", to_string(k.pattern)}};
    // The path, only where it is not a tcp stream received by copy.
    if (k.protocol != Protocol::tcp) j["protocol"] = to_string(k.protocol);
    if (k.udp_gso > 0) j["udp_gso"] = k.udp_gso;
    if (k.receive != Receive::copy) j["receive"] = to_string(k.receive);
    return j;
}

CellMatching match_cells(const std::vector<CellResult>& baseline,
                         const std::vector<CellResult>& candidate) {
    CellMatching m;
    // Candidate cells by key, in order; each baseline cell takes the first one left.
    std::map<CellKey, std::vector<const CellResult*>> pending;
    for (const CellResult& c : candidate)
        pending[cell_key(c)].push_back(&c);
    std::map<CellKey, size_t> taken;
    for (const CellResult& c : baseline) {
        const CellKey k = cell_key(c);
        auto it = pending.find(k);
        size_t& n = taken[k];
        if (it != pending.end() && n < it->second.size()) {
            m.matched.push_back({k, &c, it->second[n]});
            ++n;
        } else {
            m.only_baseline.push_back(k);
        }
    }
    std::map<CellKey, size_t> seen;
    for (const CellResult& c : candidate) {
        const CellKey k = cell_key(c);
        if (seen[k]++ >= taken[k]) m.only_candidate.push_back(k);
    }
    return m;
}

} // namespace copyscope
