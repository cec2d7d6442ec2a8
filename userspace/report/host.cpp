#include "report/report.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include <sys/utsname.h>

namespace copyscope {

namespace {

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(" \t", colon + 1));
        }
    }
    return "unknown";
}

// /sys/kernel/security/lockdown reads like "none [integrity] confidentiality".
std::string lockdown_mode() {
    std::string line = read_first_line("/sys/kernel/security/lockdown");
    auto open = line.find('['), close = line.find(']');
    if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
    return line.substr(open + 1, close - open - 1);
}

} // namespace

HostInfo probe_host() {
    HostInfo host;
    utsname uts{};
    if (uname(&uts) == 0) host.kernel_release = uts.release;
    host.cpu_model = cpu_model();
    host.cores = std::thread::hardware_concurrency();
    host.btf_present = std::filesystem::exists("/sys/kernel/btf/vmlinux");
    host.lockdown = lockdown_mode();
    return host;
}

std::string utc_now_iso8601() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace copyscope
