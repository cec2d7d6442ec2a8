// The tests' io_uring SEND_ZC program, for `copyscope trace` to watch: connects to HOST PORT
// and sends MESSAGES messages of SIZE bytes with copyscope's own io-uring-zc sender
// (IORING_OP_SEND_ZC, usage reported; with `fixed`, io-uring-zc-fixed: from buffers registered
// with the ring), waits for every notification and prints what it saw, one JSON object on
// stdout:
//   {"sent": bytes, "requests": send requests, "notifications": notification CQEs read,
//    "copied": of those flagged IORING_NOTIF_USAGE_ZC_COPIED}
#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "strategies/sender.h"

int main(int argc, char** argv) {
    if (argc != 5 && !(argc == 6 && std::strcmp(argv[5], "fixed") == 0)) {
        std::fprintf(stderr, "usage: uring_send HOST PORT MESSAGES SIZE [fixed]\n");
        return 2;
    }
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(uint16_t(std::atoi(argv[2])));
    if (::inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) return 2;
    const int messages = std::atoi(argv[3]);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const timeval timeout{10, 0};
    if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) ||
        ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to)) {
        std::fprintf(stderr, "uring_send: connect: %s\n", std::strerror(errno));
        return 1;
    }
    try {
        copyscope::SenderOptions options;
        options.strategy =
            argc == 6 ? copyscope::Strategy::io_uring_zc_fixed : copyscope::Strategy::io_uring_zc;
        options.message_size = std::strtoull(argv[4], nullptr, 10);
        options.fd = fd;
        auto sender = copyscope::make_sender(options);
        for (int i = 0; i < messages; ++i) {
            sender->next_message().fill_pattern(uint64_t(i) * options.message_size);
            sender->send();
        }
        sender->finish();
        const copyscope::IoUringStats u = *sender->io_uring();
        std::printf("{\"sent\": %llu, \"requests\": %llu, \"notifications\": %llu, "
                    "\"copied\": %llu}\n",
                    (unsigned long long)sender->counts().bytes, (unsigned long long)u.requests,
                    (unsigned long long)u.notifications,
                    (unsigned long long)u.notifications_copied);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "uring_send: %s\n", e.what());
        return 1;
    }
    ::close(fd);
    return 0;
}
