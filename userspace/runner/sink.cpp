#include "runner/sink.h"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "lab/lab.h"
#include "strategies/message.h"
#include "strategies/sender.h"

namespace copyscope {

void encode_tally(const SinkTally& t, unsigned char out[kSinkTallySize]) {
    for (int i = 0; i < 8; ++i) {
        out[i] = static_cast<unsigned char>(t.bytes >> (8 * i));
        out[8 + i] = static_cast<unsigned char>(t.pattern_errors >> (8 * i));
    }
}

SinkTally decode_tally(const unsigned char in[kSinkTallySize]) {
    SinkTally t;
    for (int i = 0; i < 8; ++i) {
        t.bytes |= uint64_t(in[i]) << (8 * i);
        t.pattern_errors |= uint64_t(in[8 + i]) << (8 * i);
    }
    return t;
}

namespace {

void serve(UniqueFd fd, bool quiet) {
    std::vector<std::byte> buffer(1u << 20);
    SinkTally tally;
    try {
        for (;;) {
            ssize_t n = ::recv(fd.get(), buffer.data(), buffer.size(), 0);
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR) continue;
                throw RunError(errno_message("recv", errno));
            }
            tally.pattern_errors += count_pattern_errors(buffer.data(), size_t(n), tally.bytes);
            tally.bytes += uint64_t(n);
        }
        unsigned char out[kSinkTallySize];
        encode_tally(tally, out);
        send_all(fd.get(), reinterpret_cast<const std::byte*>(out), sizeof out);
        if (!quiet)
            std::fprintf(stderr, "sink: %llu bytes received\n", (unsigned long long)tally.bytes);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sink: connection failed: %s\n", e.what());
    }
}

} // namespace

int run_sink(const SinkOptions& o) {
    auto [host, port] = parse_peer(o.listen);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener) throw RunError(errno_message("socket", errno));
    int one = 1;
    ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw RunError(errno_message("sink: cannot listen on " + o.listen, errno));
    if (::listen(listener.get(), 64) != 0) throw RunError(errno_message("listen", errno));
    if (!o.quiet) std::fprintf(stderr, "sink: listening on %s\n", o.listen.c_str());

    std::vector<std::jthread> workers;
    unsigned served = 0;
    auto idle_since = std::chrono::steady_clock::now();
    while (o.connections == 0 || served < o.connections) {
        if (o.stop && o.stop->load()) break;
        if (std::chrono::duration<double>(std::chrono::steady_clock::now() - idle_since).count() >
            o.idle_timeout_seconds) {
            if (!o.quiet) std::fputs("sink: idle, stopping\n", stderr);
            break;
        }
        pollfd p{listener.get(), POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn) continue;
        timeval tv{30, 0}; // a sender that vanishes must not hold the sink forever
        ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        workers.emplace_back(serve, std::move(conn), o.quiet);
        ++served;
        idle_since = std::chrono::steady_clock::now();
    }
    return 0; // workers join here
}

} // namespace copyscope
