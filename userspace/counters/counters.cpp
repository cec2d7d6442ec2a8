#include "counters/counters.h"

#include <fstream>
#include <sstream>

#include "common/errors.h"

namespace copyscope {

CounterScope parse_counter_scope(const std::string& text) {
    if (text == "thread") return CounterScope::thread;
    if (text == "system") return CounterScope::system;
    if (text == "both") return CounterScope::both;
    throw UsageError("--counter-scope: unknown scope '" + text +
                     "'; allowed: thread, system, both");
}

std::string_view to_string(CounterScope s) {
    switch (s) {
    case CounterScope::thread:
        return "thread";
    case CounterScope::system:
        return "system";
    case CounterScope::both:
        return "both";
    }
    return "?";
}

CpuTimes read_cpu_times(const std::filesystem::path& proc_stat) {
    CpuTimes t;
    std::ifstream in(proc_stat);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("cpu ", 0) != 0) continue; // the all-CPU line
        std::istringstream ss(line.substr(4));
        ss >> t.user >> t.nice >> t.system >> t.idle >> t.iowait >> t.irq >> t.softirq >> t.steal;
        t.valid = bool(ss);
        break;
    }
    return t;
}

} // namespace copyscope
