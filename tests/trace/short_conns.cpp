// A program for `copyscope trace` to watch that opens, uses and closes many short TCP
// connections one after another: connection i (from 0) sends (i + 1) * STEP bytes with write()
// and closed (after the peer's FIN) before the next one opens, so the kernel may give each
// new socket the memory of the one just freed. Prints what it did, one JSON object on stdout:
//   {"connections": [{"local_port": port, "sent": bytes}, ...]}
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

int fail(const char* what) {
    std::fprintf(stderr, "short_conns: %s: %s\n", what, std::strerror(errno));
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: short_conns HOST PORT CONNECTIONS STEP\n");
        return 2;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(std::atoi(argv[2])));
    if (::inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
    const int count = std::atoi(argv[3]);
    const size_t step = std::strtoull(argv[4], nullptr, 10);
    std::vector<char> buf(size_t(count) * step, 's');
    std::string out = "{\"connections\": [";
    for (int i = 0; i < count; ++i) {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) return fail("socket");
        if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to)) return fail("connect");
        sockaddr_in local{};
        socklen_t len = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len))
            return fail("getsockname");
        const size_t total = size_t(i + 1) * step;
        size_t sent = 0;
        while (sent < total) {
            const ssize_t n = ::write(fd, buf.data() + sent, total - sent);
            if (n < 0) return fail("write");
            sent += size_t(n);
        }
        // The peer's FIN read before close(): the socket is freed at close, not later.
        ::shutdown(fd, SHUT_WR);
        char sink[256];
        while (::read(fd, sink, sizeof sink) > 0) {
        }
        ::close(fd);
        char item[64];
        std::snprintf(item, sizeof item, "%s{\"local_port\": %u, \"sent\": %zu}", i ? ", " : "",
                      unsigned(ntohs(local.sin_port)), sent);
        out += item;
    }
    out += "]}";
    std::printf("%s\n", out.c_str());
    return 0;
}
