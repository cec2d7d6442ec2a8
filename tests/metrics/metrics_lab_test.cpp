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
#include "prometheus_process.h"
#include "support/system_probe.h"

namespace copyscope {
namespace {

namespace fs = std::filesystem;
using testsupport::free_port;
using testsupport::http_get;
using testsupport::kPrometheus;
using testsupport::PrometheusProcess;
using testsupport::url_encode;

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
