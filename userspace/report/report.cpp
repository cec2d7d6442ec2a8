#include "report/report.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "stats/stats.h"

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
            if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
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

nlohmann::json to_json(const HostInfo& host) {
    return {{"kernel_release", host.kernel_release},
            {"cpu_model", host.cpu_model},
            {"cores", host.cores},
            {"btf_present", host.btf_present},
            {"lockdown", host.lockdown}};
}

nlohmann::json to_json(const CellResult& cell) {
    const CellSpec& s = cell.spec;
    nlohmann::json j;
    j["strategy"] = to_string(s.strategy);
    j["transport"] = to_string(s.transport);
    if (s.transport == Transport::nic) j["peer"] = s.peer;
    j["message_size"] = s.message_size;
    j["threads"] = s.threads;
    if (s.duration_seconds > 0) j["duration_requested_seconds"] = s.duration_seconds;
    if (s.bytes > 0) j["bytes_requested"] = s.bytes;
    j["verify_payload"] = s.verify_payload;
    j["pattern"] = to_string(s.pattern);
    j["repetitions"] = cell.throughput.samples.size();
    j["seconds"] = cell.seconds;
    j["bytes_sent"] = cell.app.bytes_sent;
    j["bytes_received"] = cell.app.bytes_received;
    j["messages"] = cell.app.messages_sent;
    j["send_calls"] = cell.app.send_calls;
    j["user_copy_bytes"] = cell.app.user_copy_bytes;
    j["gbit_per_second"] = cell.gbits_per_second();
    j["messages_per_second"] = cell.messages_per_second();
    j["microseconds_per_message"] = cell.microseconds_per_message();
    if (s.verify_payload) j["payload_errors"] = cell.app.payload_errors;
    if (s.pattern == Pattern::rr) j["response_bytes"] = cell.app.response_bytes;
    {
        const Summary st = summarize(cell.throughput.samples);
        nlohmann::json t;
        t["unit"] = "Gbit/s";
        t["samples"] = cell.throughput.samples;
        t["mean"] = st.mean;
        t["stddev"] = st.stddev;
        bool have_ci = st.n >= 2;
        t["ci95_low"] = have_ci ? nlohmann::json(st.mean - st.ci95_half) : nlohmann::json(nullptr);
        t["ci95_high"] = have_ci ? nlohmann::json(st.mean + st.ci95_half) : nlohmann::json(nullptr);
        t["ci95_relative"] = have_ci ? nlohmann::json(st.ci95_relative) : nlohmann::json(nullptr);
        t["precision_target"] = s.precision;
        // Only a cell that may repeat can converge; a single repetition has no interval.
        t["converged"] = s.max_repetitions > 1 ? nlohmann::json(cell.throughput.converged)
                                               : nlohmann::json(nullptr);
        t["warmup_seconds"] = s.warmup_seconds;
        j["throughput"] = t;
    }
    if (cell.latency) {
        const LatencyStats& l = *cell.latency;
        j["latency"] = {{"unit", "us"},        {"round_trips", l.round_trips}, {"p50_us", l.p50},
                        {"p90_us", l.p90},     {"p99_us", l.p99},              {"p999_us", l.p999},
                        {"max_us", l.max},     {"mean_us", l.mean}};
    }
    if (cell.zerocopy) {
        const ZerocopyStats& z = *cell.zerocopy;
        j["zerocopy"] = {{"sends", z.sends},
                         {"completions", z.completions},
                         {"completions_copied", z.completions_copied},
                         {"notifications", z.notifications},
                         {"enobufs", z.enobufs},
                         {"missing_completions", z.missing}};
    }
    nlohmann::json checks = nlohmann::json::array();
    for (const Check& c : cell.checks)
        checks.push_back({{"name", c.name}, {"passed", c.passed}, {"detail", c.detail}});
    j["checks"] = checks;
    j["passed"] = cell.passed();
    j["error"] = cell.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(cell.error);
    j["ledger"] = cell.ledger;
    j["counters"] = cell.counters;
    return j;
}

nlohmann::json to_json(const Report& report) {
    nlohmann::json j;
    j["schema"] = report_schema;
    j["schema_version"] = report_schema_version;
    j["tool"] = {{"name", "copyscope"}, {"version", COPYSCOPE_VERSION}};
    j["host"] = to_json(report.host);
    j["command_line"] = report.command_line;
    j["started_at"] = report.started_at;
    j["complete"] = report.complete;
    if (!report.complete) j["interrupted"] = report.interrupted_reason;
    for (auto& [key, value] : report.extra.items()) j[key] = value;
    nlohmann::json cells = nlohmann::json::array();
    for (const CellResult& c : report.cells) cells.push_back(to_json(c));
    j["cells"] = cells;
    return j;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
    std::filesystem::path target(path);
    std::filesystem::path tmp = target;
    tmp += ".tmp." + std::to_string(getpid());
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) throw RunError(errno_message("cannot write report " + tmp.string(), errno));
    size_t done = 0;
    while (done < contents.size()) {
        ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::unlink(tmp.c_str());
            throw RunError(errno_message("cannot write report " + tmp.string(), err));
        }
        done += size_t(n);
    }
    if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw RunError(errno_message("cannot write report " + tmp.string(), err));
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw RunError(errno_message("cannot rename report to " + path, err));
    }
}

void check_output_path(const std::string& path) {
    if (path.empty()) throw UsageError("--output: empty path; give a file name such as report.json");
    std::filesystem::path p(path);
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec))
        throw UsageError("--output " + path + ": is a directory; give a file name");
    std::filesystem::path dir = p.parent_path();
    if (dir.empty()) dir = ".";
    if (!std::filesystem::is_directory(dir, ec))
        throw UsageError("--output " + path + ": directory " + dir.string() + " does not exist");
    if (::access(dir.c_str(), W_OK) != 0)
        throw UsageError("--output " + path + ": directory " + dir.string() + " is not writable");
    if (std::filesystem::exists(p, ec) && ::access(p.c_str(), W_OK) != 0)
        throw UsageError("--output " + path + ": file exists and is not writable");
}

} // namespace copyscope
