#include "metrics/server.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/errors.h"

namespace copyscope {

namespace {

using clock = std::chrono::steady_clock;

std::optional<uint16_t> parse_port(const std::string& text) {
    if (text.empty() || text.size() > 5 ||
        text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    unsigned long value = std::stoul(text);
    if (value > 65535) return std::nullopt;
    return uint16_t(value);
}

// What is left of `deadline` in poll()'s milliseconds (0 once it has passed).
int millis_left(clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    return left.count() > 0 ? int(left.count()) : 0;
}

// Waits until `fd` is ready for `events`; false on timeout or when asked to stop.
bool wait_ready(int fd, short events, int stop_fd, clock::time_point deadline) {
    for (;;) {
        pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int n = ::poll(fds, 2, millis_left(deadline));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || fds[1].revents) return false;
        return true;
    }
}

std::string response(int code, const std::string& reason, const std::string& type,
                     const std::string& body, bool head, const std::string& extra = "") {
    std::string out = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n" +
                      "Content-Type: " + type + "\r\n" +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n" + extra +
                      "Connection: close\r\n\r\n";
    if (!head) out += body;
    return out;
}

std::string text_response(int code, const std::string& reason, const std::string& extra = "") {
    return response(code, reason, "text/plain; charset=utf-8", reason + "\n", false, extra);
}

} // namespace

ListenAddress parse_listen_address(const std::string& text, const std::string& option) {
    const std::string what = option + " " + text + ": ";
    std::string host = "127.0.0.1", port_text = text;
    bool v6 = false;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find("]:");
        if (close == std::string::npos) throw UsageError(what + "expected [IPv6]:PORT");
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
        v6 = true;
    } else if (auto colon = text.rfind(':'); colon != std::string::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.empty())
            throw UsageError(what + "give the address to listen on: 127.0.0.1:PORT (this "
                                    "host only) or 0.0.0.0:PORT (every interface)");
        if (host == "localhost") host = "127.0.0.1";
    }
    auto port = parse_port(port_text);
    if (!port) throw UsageError(what + "'" + port_text + "' is not a port (0 to 65535)");
    ListenAddress a;
    if (v6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(*port);
        if (::inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1)
            throw UsageError(what + "'" + host + "' is not an IPv6 address");
        a.len = sizeof(sockaddr_in6);
    } else {
        auto* sin = reinterpret_cast<sockaddr_in*>(&a.addr);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(*port);
        if (::inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1)
            throw UsageError(what + "'" + host + "' is not a numeric IPv4 address (use " +
                             "ADDR:PORT, [IPv6]:PORT or PORT)");
        a.len = sizeof(sockaddr_in);
    }
    return a;
}

void MetricsSnapshot::publish(std::vector<MetricFamily> families) {
    std::lock_guard lock(mutex_);
    families_ = std::move(families);
}

std::vector<MetricFamily> MetricsSnapshot::get() const {
    std::lock_guard lock(mutex_);
    return families_;
}

MetricsServer::MetricsServer(const std::string& listen, Source source, Limits limits,
                             const std::string& option)
    : source_(std::move(source)), limits_(limits) {
    const std::string what = option + " " + listen + ": ";
    ListenAddress a = parse_listen_address(listen, option);
    listen_fd_ = UniqueFd(::socket(a.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listen_fd_) throw RunError(errno_message(what + "socket", errno));
    int one = 1;
    ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&a.addr), a.len) != 0) {
        int err = errno;
        if (err == EADDRINUSE) throw UsageError(what + "the port is in use");
        if (err == EADDRNOTAVAIL) throw UsageError(what + "not an address of this host");
        if (err == EACCES) throw UsageError(what + "this port needs privileges");
        throw UsageError(errno_message(what + "cannot listen", err));
    }
    if (::listen(listen_fd_.get(), 16) != 0) throw RunError(errno_message(what + "listen", errno));
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &len);
    char buf[INET6_ADDRSTRLEN] = {};
    if (bound.ss_family == AF_INET6) {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&bound);
        port_ = ntohs(sin6->sin6_port);
        host_ = "[" + std::string(::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) + "]";
    } else {
        auto* sin = reinterpret_cast<sockaddr_in*>(&bound);
        port_ = ntohs(sin->sin_port);
        host_ = ::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf);
    }
    stop_fd_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stop_fd_) throw RunError(errno_message("eventfd", errno));
    thread_ = std::thread([this] { serve(); });
}

MetricsServer::~MetricsServer() {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
}

std::string MetricsServer::address() const {
    return host_ + ":" + std::to_string(port_);
}

void MetricsServer::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_.get(), POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
        int n = ::poll(fds, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 || fds[1].revents) return;
        UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
        if (conn) handle(conn.get());
    }
}

void MetricsServer::handle(int conn) {
    const auto deadline = clock::now() + limits_.io_timeout;
    std::string request;
    std::string answer;
    while (request.find("\r\n\r\n") == std::string::npos) {
        if (request.size() > limits_.max_request_bytes) {
            answer = text_response(431, "Request Header Fields Too Large");
            break;
        }
        if (!wait_ready(conn, POLLIN, stop_fd_.get(), deadline)) return; // timeout or stop
        char buf[2048];
        ssize_t got = ::recv(conn, buf, sizeof buf, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) return; // the client went away before a whole request
        request.append(buf, size_t(got));
    }
    if (answer.empty()) {
        // Request line: METHOD TARGET HTTP/1.x
        std::string line = request.substr(0, request.find("\r\n"));
        auto sp1 = line.find(' '), sp2 = line.rfind(' ');
        std::string method = line.substr(0, sp1);
        std::string target = sp1 == sp2 ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string version = sp1 == sp2 ? "" : line.substr(sp2 + 1);
        std::string path = target.substr(0, target.find('?'));
        if (version.rfind("HTTP/1.", 0) != 0 || target.empty()) {
            answer = text_response(400, "Bad Request");
        } else if (method != "GET" && method != "HEAD") {
            answer = text_response(405, "Method Not Allowed", "Allow: GET, HEAD\r\n");
        } else if (path != "/metrics") {
            answer = text_response(404, "Not Found");
        } else {
            try {
                std::string body = render_exposition(source_());
                answer = response(200, "OK", kExpositionContentType, body, method == "HEAD");
                if (method == "GET") ++scrapes_;
            } catch (const std::exception& e) {
                answer = response(500, "Internal Server Error", "text/plain; charset=utf-8",
                                  std::string(e.what()) + "\n", false);
            }
        }
    }
    for (size_t sent = 0; sent < answer.size();) {
        if (!wait_ready(conn, POLLOUT, stop_fd_.get(), deadline)) return;
        ssize_t n = ::send(conn, answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return;
        sent += size_t(n);
    }
    // Close gently: unread request bytes would turn the close into a reset that can
    // destroy the answer before the client read it. Bounded.
    ::shutdown(conn, SHUT_WR);
    const auto drain_until = std::min(deadline, clock::now() + std::chrono::milliseconds(200));
    char sink[2048];
    while (wait_ready(conn, POLLIN, stop_fd_.get(), drain_until) &&
           ::recv(conn, sink, sizeof sink, 0) > 0) {
    }
}

} // namespace copyscope
