// A corked datagram plan: refused with GSO, and over a real UDP socket on this namespace's
// loopback each datagram is appended field by field and arrives whole, byte for byte.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "strategies/datagrams.h"
#include "strategies/message.h"

namespace copyscope {
namespace {

TEST(DatagramPlan, CorkedIsOneDatagramAMessageAndNotWithGso) {
    DatagramPlan p = plan_datagrams(1000, 0, true);
    EXPECT_TRUE(p.corked);
    EXPECT_EQ(p.sends, std::vector<uint32_t>{1000});
    EXPECT_EQ(p.segments, std::vector<uint32_t>{1000});
    EXPECT_THROW(plan_datagrams(65536, 1400, true), UsageError);
}

// A connected UDP pair on 127.0.0.1 (the receiver bound to an ephemeral port).
struct UdpPair {
    UniqueFd sender, receiver;
};

UdpPair udp_pair() {
    UdpPair p{UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)),
              UniqueFd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0))};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(p.receiver.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::getsockname(p.receiver.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
    EXPECT_EQ(::connect(p.sender.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return p;
}

TEST(SendDatagrams, CorkedSendsEachFieldAndTheDatagramArrivesWhole) {
    UdpPair p = udp_pair();
    const size_t size = 1003; // fields of 125 bytes, the last 128
    const DatagramPlan plan = plan_datagrams(size, 0, true);
    Message m(size);
    std::vector<std::byte> got(2 * size);
    for (uint64_t i = 0; i < 3; ++i) {
        m.fill_pattern(i * size);
        EXPECT_EQ(send_datagrams(p.sender.get(), m.iov().data(), kFieldsPerMessage, plan, 0),
                  kFieldsPerMessage);
        const ssize_t n = ::recv(p.receiver.get(), got.data(), got.size(), MSG_DONTWAIT);
        ASSERT_EQ(n, ssize_t(size)) << "datagram " << i;
        EXPECT_EQ(count_pattern_errors(got.data(), size, i * size), 0u);
    }
    // Nothing else arrived: the pieces were one datagram each time.
    EXPECT_LT(::recv(p.receiver.get(), got.data(), got.size(), MSG_DONTWAIT), 0);
}

TEST(SendDatagrams, CorkingOneBufferIsRefused) {
    UdpPair p = udp_pair();
    const DatagramPlan plan = plan_datagrams(64, 0, true);
    std::vector<std::byte> buf(64);
    const iovec one{buf.data(), buf.size()};
    EXPECT_THROW(send_datagrams(p.sender.get(), &one, 1, plan, 0), RunError);
}

} // namespace
} // namespace copyscope
