#pragma once
// A raw-socket HTTP client for the tests: sends exactly the bytes given, reads to EOF.
#include <cstdint>
#include <string>

namespace copyscope::testsupport {

struct HttpReply {
    int status = 0;      // 0: no answer
    std::string headers; // status line and headers
    std::string body;
};

// Connects to 127.0.0.1:port, sends `request` verbatim, reads until the server closes
// (bounded by `timeout_ms`).
HttpReply http_exchange(uint16_t port, const std::string& request, int timeout_ms = 10000);

// GET `target` as HTTP/1.0 (so that no server answers in chunks).
HttpReply http_get(uint16_t port, const std::string& target);

// A port nothing listens on right now (bound to port 0 and released).
uint16_t free_port();

} // namespace copyscope::testsupport
