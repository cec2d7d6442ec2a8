#pragma once
// A minimal HTTP/1.1 server for Prometheus to scrape: GET (or HEAD) /metrics answers the
// current families in the text exposition format, anything else 404 (405 for other
// methods). One thread, one connection at a time (a scrape is one short request), a
// request-size limit and a time limit per connection, so a stuck or hostile client cannot
// hold it for long. The socket is bound in the constructor: a port in use or a bad address
// is a UsageError before anything starts. The destructor stops the thread.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "metrics/exposition.h"

namespace copyscope {

struct ListenAddress {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

// "PORT" (loopback: 127.0.0.1), "ADDR:PORT" with a numeric IPv4 address or "localhost",
// "[ADDR6]:PORT". ":PORT" is refused: listening on every interface must be said
// (0.0.0.0:PORT). UsageError messages start with `option` and the text.
ListenAddress parse_listen_address(const std::string& text,
                                   const std::string& option = "--metrics");

// Families published by one thread (the trace loop) and read by the server's: a snapshot
// under a mutex.
class MetricsSnapshot {
  public:
    void publish(std::vector<MetricFamily> families);
    std::vector<MetricFamily> get() const;

  private:
    mutable std::mutex mutex_;
    std::vector<MetricFamily> families_;
};

class MetricsServer {
  public:
    // Called on the server's thread for each scrape; must be thread-safe (see
    // MetricsSnapshot). An exception becomes a 500 answer.
    using Source = std::function<std::vector<MetricFamily>()>;
    struct Limits {
        size_t max_request_bytes = 8192;            // request line and headers
        std::chrono::milliseconds io_timeout{5000}; // per connection, reading and writing
    };

    MetricsServer(const std::string& listen, Source source, Limits limits,
                  const std::string& option = "--metrics");
    MetricsServer(const std::string& listen, Source source)
        : MetricsServer(listen, std::move(source), Limits{}) {}
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    uint16_t port() const { return port_; }              // the bound port (useful with port 0)
    std::string address() const;                         // "127.0.0.1:9464", "[::1]:9464"
    uint64_t scrapes() const { return scrapes_.load(); } // 200 answers to GET /metrics

  private:
    void serve();
    void handle(int conn);

    UniqueFd listen_fd_;
    UniqueFd stop_fd_;
    Source source_;
    Limits limits_;
    uint16_t port_ = 0;
    std::string host_;
    std::atomic<uint64_t> scrapes_{0};
    std::thread thread_;
};

} // namespace copyscope
