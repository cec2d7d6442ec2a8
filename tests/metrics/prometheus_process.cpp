#include "prometheus_process.h"

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "http_client.h"

namespace copyscope::testsupport {

namespace fs = std::filesystem;

PrometheusProcess::PrometheusProcess(const fs::path& dir, uint16_t target_port)
    : dir_(dir), port_(free_port()) {
    std::ofstream(dir / "prometheus.yml")
        << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        << "scrape_configs:\n  - job_name: copyscope\n    static_configs:\n"
        << "      - targets: ['127.0.0.1:" << target_port << "']\n";
    std::string config = "--config.file=" + (dir / "prometheus.yml").string();
    std::string tsdb = "--storage.tsdb.path=" + (dir / "tsdb").string();
    std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(port_);
    std::string log = (dir / "prometheus.log").string();
    pid_ = ::fork();
    if (pid_ == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execl(kPrometheus, kPrometheus, config.c_str(), tsdb.c_str(), listen.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
}

PrometheusProcess::~PrometheusProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) { // up to 10 s for a clean shutdown
        if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
}

std::string PrometheusProcess::log() const {
    std::ifstream in(dir_ / "prometheus.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
}

nlohmann::json PrometheusProcess::first_sample(const std::string& promql, int seconds) const {
    const std::string query = "/api/v1/query?query=" + url_encode(promql);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
        const HttpReply reply = http_get(port_, query);
        if (reply.status == 200) {
            auto j = nlohmann::json::parse(reply.body, nullptr, false);
            if (!j.is_discarded() && j["status"] == "success" && !j["data"]["result"].empty())
                return j["data"]["result"][0];
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return nullptr;
}

std::string url_encode(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '_' || c == '-' || c == '.') {
            out += char(c);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", c);
            out += buf;
        }
    }
    return out;
}

} // namespace copyscope::testsupport
