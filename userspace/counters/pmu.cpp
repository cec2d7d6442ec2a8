#include "counters/pmu.h"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace copyscope {
namespace {

namespace fs = std::filesystem;

bool read_line(const fs::path& p, std::string& out) {
    std::ifstream in(p);
    if (!in) return false;
    std::getline(in, out);
    return true;
}

} // namespace

std::vector<int> parse_cpu_list(const std::string& text) {
    std::vector<int> cpus;
    std::stringstream ss(text);
    std::string part;
    while (std::getline(ss, part, ',')) {
        try {
            const size_t dash = part.find('-');
            size_t used = 0;
            if (dash == std::string::npos) {
                const int cpu = std::stoi(part, &used);
                if (cpu >= 0) cpus.push_back(cpu);
            } else {
                const int lo = std::stoi(part.substr(0, dash));
                const int hi = std::stoi(part.substr(dash + 1));
                for (int c = std::max(lo, 0); c <= hi; ++c)
                    cpus.push_back(c);
            }
        } catch (const std::exception&) {
            // not a number: skip the part
        }
    }
    std::sort(cpus.begin(), cpus.end());
    cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
    return cpus;
}

std::vector<int> online_cpus(const fs::path& sysfs_root) {
    std::string line;
    if (read_line(sysfs_root / "devices/system/cpu/online", line)) return parse_cpu_list(line);
    return {};
}

PmuTopology discover_pmus(const fs::path& sysfs_root) {
    PmuTopology topo;
    const fs::path dir = sysfs_root / "bus/event_source/devices";
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        // The perf tool's rule: "cpu" is the core PMU; on hybrid and ARM systems a core
        // PMU is one with a "cpus" file (uncore PMUs have "cpumask" instead).
        const bool has_cpus = fs::exists(entry.path() / "cpus", ec);
        if (name != "cpu" && !has_cpus) continue;
        std::string type_text;
        if (!read_line(entry.path() / "type", type_text)) continue;
        CorePmu pmu;
        pmu.name = name;
        try {
            pmu.type = uint32_t(std::stoul(type_text));
        } catch (const std::exception&) {
            continue;
        }
        std::string cpus_text;
        if (has_cpus && read_line(entry.path() / "cpus", cpus_text))
            pmu.cpus = parse_cpu_list(cpus_text);
        topo.core.push_back(std::move(pmu));
    }
    std::sort(topo.core.begin(), topo.core.end(),
              [](const CorePmu& a, const CorePmu& b) { return a.name < b.name; });
    return topo;
}

uint64_t pmu_config(uint64_t config, const CorePmu* pmu, bool hybrid) {
    if (!pmu || !hybrid) return config;
    return config | (uint64_t(pmu->type) << 32);
}

} // namespace copyscope
