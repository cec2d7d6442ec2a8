// Debian's Prometheus server scrapes copyscope's exposition: the sample arrives, labels
// unescaped as they were given. Root: it runs a system daemon binary with files of its own.
#include <gtest/gtest.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "http_client.h"
#include "metrics/server.h"
#include "support/system_probe.h"

namespace copyscope {
namespace {

namespace fs = std::filesystem;
using testsupport::free_port;
using testsupport::http_get;

constexpr const char* kPrometheus = "/usr/bin/prometheus";

// A Prometheus server in a temporary directory, stopped by its pid.
class PrometheusProcess {
  public:
    PrometheusProcess(const fs::path& dir, uint16_t target_port) : dir_(dir), port_(free_port()) {
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
    ~PrometheusProcess() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGTERM);
        for (int i = 0; i < 200; ++i) { // up to 10 s for a clean shutdown
            if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    uint16_t port() const { return port_; }
    std::string log() const {
        std::ifstream in(dir_ / "prometheus.log");
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

  private:
    fs::path dir_;
    uint16_t port_;
    pid_t pid_ = -1;
};

// percent-encoding of a PromQL query for the URL
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

TEST(PrometheusLab, ScrapesOurExposition) {
    COPYSCOPE_REQUIRE_ROOT();
    if (::access(kPrometheus, X_OK) != 0)
        GTEST_SKIP() << kPrometheus << " is not installed (Debian package prometheus)";
    char tmpl[] = "/tmp/copyscope-prometheus-XXXXXX";
    fs::path dir = ::mkdtemp(tmpl);

    const std::string tricky = "a\"b\\c\nd";
    MetricsSnapshot snapshot;
    snapshot.publish({{"copyscope_lab_sent_bytes_total",
                       "Bytes sent in the lab test.",
                       MetricType::counter,
                       {{{{"process", "lab"}, {"path", tricky}}, uint64_t(123456789)}}}});
    MetricsServer server("127.0.0.1:0", [&] { return snapshot.get(); });

    nlohmann::json sample;
    std::string last_answer;
    {
        PrometheusProcess prometheus(dir, server.port());
        const std::string query =
            "/api/v1/query?query=" + url_encode("copyscope_lab_sent_bytes_total{process=\"lab\"}");
        // The first sample is queryable only after target discovery (~6 s here): poll, 30 s.
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            auto reply = http_get(prometheus.port(), query);
            last_answer = reply.body;
            if (reply.status == 200) {
                auto j = nlohmann::json::parse(reply.body, nullptr, false);
                if (!j.is_discarded() && j["status"] == "success" && !j["data"]["result"].empty()) {
                    sample = j["data"]["result"][0];
                    break;
                }
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        if (sample.is_null())
            ADD_FAILURE() << "last answer: " << last_answer << "\n" << prometheus.log();
    }
    fs::remove_all(dir);
    ASSERT_FALSE(sample.is_null());
    EXPECT_EQ(sample["metric"]["__name__"], "copyscope_lab_sent_bytes_total");
    EXPECT_EQ(sample["metric"]["path"], tricky);
    EXPECT_EQ(sample["metric"]["job"], "copyscope");
    EXPECT_EQ(sample["value"][1], "123456789");
    EXPECT_GE(server.scrapes(), 1u);
}

} // namespace
} // namespace copyscope
