// The Prometheus exposition: rendering, the naming rules, promtool's verdict, and the
// HTTP server (loopback, unprivileged).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "common/errors.h"
#include "http_client.h"
#include "metrics/exposition.h"
#include "metrics/server.h"

namespace copyscope {
namespace {

using testsupport::http_exchange;
using testsupport::http_get;

// Families shaped like the copy ledger's, with label values that need escaping.
std::vector<MetricFamily> ledger_like() {
    return {
        {"copyscope_sent_bytes_total",
         "Bytes accepted by send calls, by how they left.",
         MetricType::counter,
         {{{{"process", "iperf3"},
            {"cgroup", "/copyscope-trace-1"},
            {"protocol", "tcp"},
            {"path", "spliced"}},
           uint64_t(762839040)},
          {{{"process", "we\\ird \"name\"\nx"},
            {"cgroup", "/"},
            {"protocol", "tcp"},
            {"path", "copy"}},
           uint64_t(37)}}},
        {"copyscope_zerocopy_completions_total",
         "Zerocopy sends completed as the application read them.",
         MetricType::counter,
         {{{{"process", "zc"}, {"api", "msg_zerocopy"}, {"copied", "true"}}, uint64_t(3000)}}},
        {"copyscope_connections",
         "Connections in scope.",
         MetricType::gauge,
         {{{{"state", "open"}}, uint64_t(2)}, {{{"state", "closed"}}, uint64_t(5)}}},
        {"copyscope_bpf_missed_events_total",
         "Events the BPF programs could not record.",
         MetricType::counter,
         {{{}, uint64_t(0)}}},
        {"copyscope_trace_duration_seconds",
         "Time traced so far.\nIn seconds \\ wall clock.",
         MetricType::gauge,
         {{{}, 2.5}}},
    };
}

TEST(Exposition, EscapesLabelValues) {
    EXPECT_EQ(escape_label_value("plain"), "plain");
    EXPECT_EQ(escape_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(escape_label_value("tab\tstays"), "tab\tstays");
    EXPECT_EQ(escape_label_value("caf\xC3\xA9"), "caf\xC3\xA9"); // UTF-8 kept
    EXPECT_EQ(escape_label_value("bad\xFF"
                                 "end"),
              "bad\xEF\xBF\xBD"
              "end");                                                      // not UTF-8
    EXPECT_EQ(escape_label_value("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD"); // overlong
}

TEST(Exposition, RendersHelpTypeAndSamples) {
    std::vector<MetricFamily> f = {
        {"copyscope_sent_bytes_total",
         "Bytes sent.\nBy path \\ process.",
         MetricType::counter,
         {{{{"process", "a\"b"}, {"path", "copy"}}, uint64_t(42)},
          {{{"process", "c"}, {"path", "pinned"}}, std::numeric_limits<uint64_t>::max()}}},
        {"copyscope_ratio",
         "A gauge.",
         MetricType::gauge,
         {{{}, 0.25},
          {{{"k", "nan"}}, std::numeric_limits<double>::quiet_NaN()},
          {{{"k", "inf"}}, std::numeric_limits<double>::infinity()},
          {{{"k", "-inf"}}, -std::numeric_limits<double>::infinity()}}},
        {"copyscope_empty_bytes_total", "No sample (unsupported here).", MetricType::counter, {}},
    };
    EXPECT_EQ(render_exposition(f),
              "# HELP copyscope_sent_bytes_total Bytes sent.\\nBy path \\\\ process.\n"
              "# TYPE copyscope_sent_bytes_total counter\n"
              "copyscope_sent_bytes_total{process=\"a\\\"b\",path=\"copy\"} 42\n"
              "copyscope_sent_bytes_total{process=\"c\",path=\"pinned\"} 18446744073709551615\n"
              "# HELP copyscope_ratio A gauge.\n"
              "# TYPE copyscope_ratio gauge\n"
              "copyscope_ratio 0.25\n"
              "copyscope_ratio{k=\"nan\"} NaN\n"
              "copyscope_ratio{k=\"inf\"} +Inf\n"
              "copyscope_ratio{k=\"-inf\"} -Inf\n"
              "# HELP copyscope_empty_bytes_total No sample (unsupported here).\n"
              "# TYPE copyscope_empty_bytes_total counter\n");
    EXPECT_EQ(render_exposition({}), "");
}

TEST(Exposition, RefusesWhatPromtoolWouldLint) {
    auto refused = [](std::string name, MetricType type, std::string help = "h",
                      std::vector<std::pair<std::string, std::string>> labels = {}) {
        MetricFamily f{name, help, type, {{labels, uint64_t(1)}}};
        EXPECT_THROW(validate(f), std::invalid_argument) << name;
    };
    refused("copyscope_sent_bytes", MetricType::counter);      // counter without _total
    refused("copyscope_open_total", MetricType::gauge);        // _total on a gauge
    refused("copyscope_sentBytes_total", MetricType::counter); // camelCase
    refused("copyscope_wait_milliseconds", MetricType::gauge); // not a base unit
    refused("copyscope_sent_kilobytes_total", MetricType::counter);
    refused("copyscope_sent_bits_total", MetricType::counter);
    refused("copyscope_wait_ms", MetricType::gauge); // abbreviated unit
    refused("copyscope_sent_kb_total", MetricType::counter);
    refused("copyscope_copy_counter_total", MetricType::counter); // type in the name
    refused("copyscope_open_gauge", MetricType::gauge);
    refused("copyscope_copies_count", MetricType::gauge); // histogram/summary suffix
    refused("copyscope_copies_sum", MetricType::gauge);
    refused("copyscope_sent_bytes_total", MetricType::counter, ""); // no help
    refused("1copyscope_total", MetricType::counter);
    refused("copyscope:sent_total", MetricType::counter);
    refused("copyscope_sent_total", MetricType::counter, "h", {{"le", "1"}});
    refused("copyscope_sent_total", MetricType::counter, "h", {{"__name", "x"}});
    refused("copyscope_sent_total", MetricType::counter, "h", {{"bad-name", "x"}});
    refused("copyscope_sent_total", MetricType::counter, "h", {{"camelCase", "x"}});
    refused("copyscope_sent_total", MetricType::counter, "h", {{"a", "x"}, {"a", "y"}});
    MetricFamily twice{
        "copyscope_sent_total",
        "h",
        MetricType::counter,
        {{{{"a", "1"}, {"b", "2"}}, uint64_t(1)}, {{{"b", "2"}, {"a", "1"}}, uint64_t(2)}}};
    EXPECT_THROW(validate(twice), std::invalid_argument);
    MetricFamily ok{"copyscope_sent_total", "h", MetricType::counter, {}};
    EXPECT_THROW(render_exposition({ok, ok}), std::invalid_argument);
    for (const auto& f : ledger_like())
        EXPECT_NO_THROW(validate(f)) << f.name;
}

// Runs `promtool check metrics` on `text`: its exit status and what it printed.
std::pair<int, std::string> promtool_check(const std::string& text) {
    auto dir = std::filesystem::temp_directory_path();
    std::string in = (dir / ("copyscope-promtool-in-" + std::to_string(::getpid()))).string();
    std::string out = (dir / ("copyscope-promtool-out-" + std::to_string(::getpid()))).string();
    std::ofstream(in) << text;
    int rc = std::system(("promtool check metrics < " + in + " > " + out + " 2>&1").c_str());
    std::ifstream o(out);
    std::string said((std::istreambuf_iterator<char>(o)), {});
    std::filesystem::remove(in);
    std::filesystem::remove(out);
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, said};
}

bool have_promtool() {
    return std::system("command -v promtool > /dev/null 2>&1") == 0;
}

TEST(Promtool, AcceptsTheRenderingWithoutWarnings) {
    if (!have_promtool())
        GTEST_SKIP() << "promtool is not installed (Debian package prometheus; scripts/deps.sh)";
    // promtool can fail: a counter without _total is linted (exit 3), a raw newline in a
    // label value does not parse (exit 1).
    auto [lint_rc, lint_said] =
        promtool_check("# HELP x_bytes h\n# TYPE x_bytes counter\nx_bytes 1\n");
    EXPECT_EQ(lint_rc, 3) << lint_said;
    auto [parse_rc, parse_said] =
        promtool_check("# HELP x_total h\n# TYPE x_total counter\nx_total{a=\"b\nc\"} 1\n");
    EXPECT_EQ(parse_rc, 1) << parse_said;

    auto [rc, said] = promtool_check(render_exposition(ledger_like()));
    EXPECT_EQ(rc, 0) << said;
    EXPECT_EQ(said, "");
}

TEST(ListenAddress, ParsesAndRefuses) {
    auto v4 = [](const std::string& text) {
        auto a = parse_listen_address(text);
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.addr);
        char buf[INET_ADDRSTRLEN];
        return std::string(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) + ":" +
               std::to_string(ntohs(sin->sin_port));
    };
    EXPECT_EQ(v4("9464"), "127.0.0.1:9464"); // loopback unless told otherwise
    EXPECT_EQ(v4("0.0.0.0:80"), "0.0.0.0:80");
    EXPECT_EQ(v4("localhost:1"), "127.0.0.1:1");
    EXPECT_EQ(parse_listen_address("[::1]:9464").addr.ss_family, AF_INET6);
    for (std::string bad : {":9464", "host.example:80", "127.0.0.1:", "127.0.0.1:65536",
                            "127.0.0.1:-1", "[::1]", "[zz]:80", "", "1.2.3:80"}) {
        try {
            parse_listen_address(bad);
            ADD_FAILURE() << bad;
        } catch (const UsageError& e) {
            EXPECT_EQ(std::string(e.what()).rfind("--metrics " + bad + ":", 0), 0u) << e.what();
        }
    }
}

TEST(Server, ServesMetricsAndNothingElse) {
    MetricsSnapshot snapshot;
    snapshot.publish(ledger_like());
    MetricsServer server("127.0.0.1:0", [&] { return snapshot.get(); });
    ASSERT_NE(server.port(), 0);
    EXPECT_EQ(server.address(), "127.0.0.1:" + std::to_string(server.port()));

    auto r = http_exchange(server.port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.headers.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos);
    EXPECT_EQ(r.body, render_exposition(ledger_like()));
    EXPECT_NE(r.headers.find("Content-Length: " + std::to_string(r.body.size()) + "\r\n"),
              std::string::npos);

    snapshot.publish({{"copyscope_other_total", "h", MetricType::counter, {{{}, uint64_t(7)}}}});
    EXPECT_EQ(http_get(server.port(), "/metrics?x=1").body,
              "# HELP copyscope_other_total h\n# TYPE copyscope_other_total counter\n"
              "copyscope_other_total 7\n");
    EXPECT_EQ(server.scrapes(), 2u);

    EXPECT_EQ(http_get(server.port(), "/").status, 404);
    EXPECT_EQ(http_get(server.port(), "/metrics/x").status, 404);
    EXPECT_EQ(http_exchange(server.port(), "POST /metrics HTTP/1.1\r\n\r\n").status, 405);
    EXPECT_EQ(http_exchange(server.port(), "nonsense\r\n\r\n").status, 400);
    auto head = http_exchange(server.port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(server.scrapes(), 2u);
}

TEST(Server, BoundsRequestsAndSurvivesBadClients) {
    MetricsServer::Limits limits;
    limits.max_request_bytes = 1024;
    limits.io_timeout = std::chrono::milliseconds(300);
    MetricsServer server(
        "127.0.0.1:0", [] { return ledger_like(); }, limits);
    std::string huge = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(4096, 'a') + "\r\n\r\n";
    EXPECT_EQ(http_exchange(server.port(), huge).status, 431);

    // A client that sends half a request and stays: it is dropped after the timeout and
    // the next scrape is answered.
    int idle = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::send(idle, "GET /met", 8, 0), 8);
    EXPECT_EQ(http_get(server.port(), "/metrics").status, 200);
    ::close(idle);
}

TEST(Server, SourceFailureIsA500) {
    MetricsServer server("127.0.0.1:0", []() -> std::vector<MetricFamily> {
        throw std::runtime_error("ledger not ready");
    });
    auto r = http_get(server.port(), "/metrics");
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, "ledger not ready\n");
    // An invalid family is refused at rendering, not served.
    MetricsServer bad("127.0.0.1:0", [] {
        return std::vector<MetricFamily>{{"copyscope_sent_bytes", "h", MetricType::counter, {}}};
    });
    EXPECT_EQ(http_get(bad.port(), "/metrics").status, 500);
}

TEST(Server, PortInUseAndForeignAddressAreUsageErrors) {
    MetricsServer first("127.0.0.1:0", [] { return std::vector<MetricFamily>{}; });
    std::string taken = "127.0.0.1:" + std::to_string(first.port());
    try {
        MetricsServer second(taken, [] { return std::vector<MetricFamily>{}; });
        ADD_FAILURE() << "bound twice";
    } catch (const UsageError& e) {
        EXPECT_EQ(std::string(e.what()), "--metrics " + taken + ": the port is in use");
    }
    // 192.0.2.1 (TEST-NET-1) is no address of this host.
    EXPECT_THROW(MetricsServer("192.0.2.1:9464", [] { return std::vector<MetricFamily>{}; }),
                 UsageError);
}

TEST(Server, StopsWhileAClientHoldsAConnection) {
    int idle = -1;
    {
        MetricsServer server("127.0.0.1:0", [] { return ledger_like(); });
        idle = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(server.port());
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        std::this_thread::sleep_for(std::chrono::milliseconds(50)); // being served now
    } // the default 5 s timeout need not pass: the destructor wakes the thread
    timeval limit{10, 0};
    ::setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    char c;
    errno = 0;
    ssize_t n = ::recv(idle, &c, 1, 0);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "closed by the server: " << n;
    ::close(idle);
}

} // namespace
} // namespace copyscope
