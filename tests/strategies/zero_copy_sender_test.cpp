// The zero-copy sender on a real TCP connection over this namespace's loopback (no root):
// every byte arrives as sent, every send completes, and the buffer ring stays within what
// the socket can hold in flight while a slow receiver keeps the send buffer full.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>

#include "common/unique_fd.h"
#include "strategies/zero_copy_sender.h"

using namespace copyscope;

namespace {

struct LoopbackPair {
    UniqueFd sender, receiver;
};

// A connected pair on 127.0.0.1, or nothing when this namespace has no usable loopback.
std::optional<LoopbackPair> connect_loopback() {
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (!listener || ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener.get(), 1) != 0 ||
        ::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return std::nullopt;
    LoopbackPair pair{UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), UniqueFd()};
    if (::connect(pair.sender.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return std::nullopt;
    pair.receiver = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!pair.receiver) return std::nullopt;
    timeval tv{10, 0};
    ::setsockopt(pair.sender.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(pair.receiver.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return pair;
}

// The most TCP autotuning lets a send buffer grow to in this namespace (tcp_wmem's max).
uint64_t tcp_wmem_max() {
    std::ifstream in("/proc/sys/net/ipv4/tcp_wmem");
    uint64_t min = 0, def = 0, max = 0;
    in >> min >> def >> max;
    return max;
}

} // namespace

TEST(ZeroCopySender, RingStaysWithinTheSendBufferAndEveryByteArrives) {
    auto pair = connect_loopback();
    if (!pair) GTEST_SKIP() << "no loopback TCP in this namespace";
    const size_t size = 65536;
    const uint64_t messages = 600;
    uint64_t received = 0, errors = 0;
    std::thread receiver([&] {
        // Read nothing at first, so the send buffer fills and completions lag.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::vector<std::byte> buf(1 << 20);
        for (;;) {
            ssize_t n = ::recv(pair->receiver.get(), buf.data(), buf.size(), 0);
            if (n <= 0) break;
            errors += count_pattern_errors(buf.data(), size_t(n), received);
            received += uint64_t(n);
        }
    });
    ZeroCopySender sender(SenderOptions{Strategy::zero_copy, size, pair->sender.get(), 10000});
    uint64_t offset = 0;
    for (uint64_t i = 0; i < messages; ++i) {
        Message& m = sender.next_message();
        m.fill_pattern(offset);
        sender.send();
        offset += size;
    }
    sender.finish();
    ::shutdown(pair->sender.get(), SHUT_WR);
    receiver.join();

    EXPECT_EQ(received, messages * size);
    EXPECT_EQ(errors, 0u);
    ASSERT_TRUE(sender.zerocopy().has_value());
    EXPECT_EQ(sender.zerocopy()->completions, sender.zerocopy()->sends);
    EXPECT_EQ(sender.zerocopy()->missing, 0u);
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    ASSERT_EQ(::getsockopt(pair->sender.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, &len), 0);
    const uint64_t most = std::max<uint64_t>(tcp_wmem_max(), uint64_t(sndbuf));
    EXPECT_LE(sender.ring_slots() * size, zero_copy_in_flight_limit(most, size))
        << sender.ring_slots() << " buffers of " << size << " bytes";
    EXPECT_GE(sender.ring_slots(), 2u); // the receiver's pause made it grow past one
}
