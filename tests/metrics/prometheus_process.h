#pragma once
// Debian's Prometheus server for lab tests: started in a temporary directory with a config
// that scrapes one target every second, stopped by its pid.
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>

#include <nlohmann/json.hpp>

namespace copyscope::testsupport {

inline constexpr const char* kPrometheus = "/usr/bin/prometheus";

class PrometheusProcess {
  public:
    PrometheusProcess(const std::filesystem::path& dir, uint16_t target_port);
    ~PrometheusProcess(); // SIGTERM, up to 10 s, then SIGKILL
    PrometheusProcess(const PrometheusProcess&) = delete;
    PrometheusProcess& operator=(const PrometheusProcess&) = delete;
    uint16_t port() const { return port_; }
    std::string log() const;
    // The first sample of an instant PromQL query, polled until it has one (target
    // discovery takes ~6 s here) or `seconds` pass: null then.
    nlohmann::json first_sample(const std::string& promql, int seconds = 30) const;

  private:
    std::filesystem::path dir_;
    uint16_t port_;
    pid_t pid_ = -1;
};

// Percent-encoding of a PromQL query for a URL.
std::string url_encode(const std::string& s);

} // namespace copyscope::testsupport
