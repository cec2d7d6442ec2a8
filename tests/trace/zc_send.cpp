// The tests' own MSG_ZEROCOPY program, for `copyscope trace` to watch: connects to HOST PORT,
// sends BYTES in CHUNK-sized MSG_ZEROCOPY sends, reads every completion from its error queue
// and prints what it saw, one JSON object on stdout:
//   {"sent": bytes, "sends": calls, "completions": sends completed, "copied": of those
//    flagged SO_EE_CODE_ZEROCOPY_COPIED, "notifications": error-queue messages read}
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace {

struct Seen {
    unsigned long long completions = 0, copied = 0, notifications = 0;
};

// Reads what the error queue holds now; false on an error other than "empty".
bool drain(int fd, Seen& seen) {
    for (;;) {
        char control[128];
        msghdr m{};
        m.msg_control = control;
        m.msg_controllen = sizeof control;
        if (::recvmsg(fd, &m, MSG_ERRQUEUE) < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
        for (cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (!(c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR)) continue;
            sock_extended_err e;
            std::memcpy(&e, CMSG_DATA(c), sizeof e);
            if (e.ee_origin != SO_EE_ORIGIN_ZEROCOPY) continue;
            const unsigned long long n = e.ee_data - e.ee_info + 1;
            seen.notifications += 1;
            seen.completions += n;
            if (e.ee_code & SO_EE_CODE_ZEROCOPY_COPIED) seen.copied += n;
        }
    }
}

int fail(const char* what) {
    std::fprintf(stderr, "zc_send: %s: %s\n", what, std::strerror(errno));
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 5) {
        std::fprintf(stderr, "usage: zc_send HOST PORT BYTES CHUNK\n");
        return 2;
    }
    const unsigned long long total = std::strtoull(argv[3], nullptr, 10);
    const size_t chunk = std::strtoull(argv[4], nullptr, 10);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(std::atoi(argv[2])));
    if (::inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one))
        return fail("socket");
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to)) return fail("connect");
    std::vector<char> buf(chunk, 'z');
    unsigned long long sent = 0, sends = 0;
    Seen seen;
    while (sent < total) {
        const size_t len = size_t(std::min<unsigned long long>(chunk, total - sent));
        const ssize_t n = ::send(fd, buf.data(), len, MSG_ZEROCOPY);
        if (n < 0 && errno == ENOBUFS) { // too many pinned in flight: wait for completions
            pollfd p{fd, 0, 0};
            ::poll(&p, 1, 100);
            if (!drain(fd, seen)) return fail("recvmsg");
            continue;
        }
        if (n < 0) return fail("send");
        sent += n;
        sends += 1;
        if (!drain(fd, seen)) return fail("recvmsg");
    }
    ::shutdown(fd, SHUT_WR);
    for (int i = 0; i < 500 && seen.completions < sends; ++i) { // up to 5 s
        pollfd p{fd, 0, 0};
        ::poll(&p, 1, 10);
        if (!drain(fd, seen)) return fail("recvmsg");
    }
    std::printf("{\"sent\": %llu, \"sends\": %llu, \"completions\": %llu, \"copied\": %llu, "
                "\"notifications\": %llu}\n",
                sent, sends, seen.completions, seen.copied, seen.notifications);
    ::close(fd);
    return seen.completions == sends ? 0 : 3;
}
