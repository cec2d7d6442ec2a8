// sendfile and the io_uring senders on a real TCP connection over this namespace's loopback:
// every byte arrives as sent while a slow receiver keeps the kernel holding the buffers, and
// a buffer is written again only once the kernel is done with it. Also the io_uring policy
// (kernel.io_uring_disabled) read from a sysctl directory.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "strategies/io_uring_sender.h"
#include "strategies/io_uring_support.h"
#include "strategies/sendfile_sender.h"

using namespace copyscope;

namespace {

struct LoopbackPair {
    UniqueFd sender, receiver;
};

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

struct Received {
    uint64_t bytes = 0, errors = 0;
};

// Sends `messages` pattern-filled messages while the receiver first reads nothing for
// 200 ms (so the kernel holds the buffers), then checks every byte.
Received run(MessageSender& sender, LoopbackPair& pair, size_t size, uint64_t messages) {
    Received got;
    std::thread receiver([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        std::vector<std::byte> buf(1 << 20);
        for (;;) {
            ssize_t n = ::recv(pair.receiver.get(), buf.data(), buf.size(), 0);
            if (n <= 0) break;
            got.errors += count_pattern_errors(buf.data(), size_t(n), got.bytes);
            got.bytes += uint64_t(n);
        }
    });
    uint64_t offset = 0;
    for (uint64_t i = 0; i < messages; ++i) {
        Message& m = sender.next_message();
        m.fill_pattern(offset);
        sender.send();
        offset += size;
    }
    sender.finish();
    ::shutdown(pair.sender.get(), SHUT_WR);
    receiver.join();
    return got;
}

// Why io_uring cannot be used here, or "" when it can.
std::string io_uring_refusal(Strategy s) {
    try {
        check_io_uring_usable({s});
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST(SendfileSender, ReleasedRangesKeepEveryByte) {
    auto pair = connect_loopback();
    if (!pair) GTEST_SKIP() << "no loopback TCP in this namespace";
    const size_t size = 65536;
    const uint64_t messages = 300;
    SendfileSender sender(SenderOptions{Strategy::sendfile, size, pair->sender.get()});
    const Received got = run(sender, *pair, size, messages);
    EXPECT_EQ(got.bytes, messages * size);
    EXPECT_EQ(got.errors, 0u);
    EXPECT_EQ(sender.counts().user_copy_bytes, messages * size);
    ASSERT_TRUE(sender.sendfile().has_value());
    EXPECT_EQ(sender.sendfile()->file_bytes_written, messages * size);
    EXPECT_EQ(sender.sendfile()->ranges_released, messages - 1);
}

// The hazard the release guards against: the skbs still hold the file's pages, so writing
// the range again in place rewrites bytes already sent but not yet received.
TEST(SendfileSender, RewritingInPlaceCorruptsBytesInFlight) {
    auto pair = connect_loopback();
    if (!pair) GTEST_SKIP() << "no loopback TCP in this namespace";
    const size_t size = 65536;
    SenderOptions o{Strategy::sendfile, size, pair->sender.get()};
    o.reuse_file_range_in_place = true;
    SendfileSender sender(o);
    const Received got = run(sender, *pair, size, 8);
    EXPECT_EQ(got.bytes, 8 * size);
    EXPECT_GT(got.errors, 0u);
    EXPECT_EQ(sender.sendfile()->ranges_released, 0u);
}

TEST(SendfileSender, RangesAreWholeHugePages) {
    EXPECT_EQ(SendfileSender::range_bytes(8), size_t(2) << 20);
    EXPECT_EQ(SendfileSender::range_bytes(size_t(2) << 20), size_t(2) << 20);
    EXPECT_EQ(SendfileSender::range_bytes((size_t(2) << 20) + 1), size_t(4) << 20);
}

class IoUringSenderTest : public ::testing::TestWithParam<Strategy> {};

TEST_P(IoUringSenderTest, EveryByteArrivesAndEveryNotificationIsRead) {
    const Strategy s = GetParam();
    if (auto why = io_uring_refusal(s); !why.empty()) GTEST_SKIP() << why;
    auto pair = connect_loopback();
    if (!pair) GTEST_SKIP() << "no loopback TCP in this namespace";
    const size_t size = 65536 + 3; // fields of unequal size
    const uint64_t messages = 400;
    IoUringSender sender(SenderOptions{s, size, pair->sender.get()});
    const Received got = run(sender, *pair, size, messages);
    EXPECT_EQ(got.bytes, messages * size);
    EXPECT_EQ(got.errors, 0u);
    EXPECT_EQ(sender.counts().user_copy_bytes, 0u);
    EXPECT_EQ(sender.counts().calls, messages * kFieldsPerMessage);
    ASSERT_TRUE(sender.io_uring().has_value());
    const IoUringStats u = *sender.io_uring();
    EXPECT_EQ(u.requests, messages * kFieldsPerMessage);
    EXPECT_EQ(u.missing, 0u);
    if (uses_send_zc(s)) {
        EXPECT_EQ(u.notifications, u.requests);
        EXPECT_EQ(u.cqes_more, u.requests);
        EXPECT_EQ(u.cqes, 2 * u.requests);
        // Loopback delivers locally: the kernel copies and says so for every request.
        EXPECT_EQ(u.notifications_copied, u.notifications);
        EXPECT_EQ(u.copied_request_bytes, messages * size);
        // A buffer waits for its notifications, so the paused receiver made the ring grow.
        EXPECT_GE(sender.ring_slots(), 2u);
    } else {
        EXPECT_EQ(u.notifications, 0u);
        EXPECT_EQ(u.cqes, u.requests);
        EXPECT_EQ(sender.ring_slots(), 1u); // a copying send is done with its buffer at its CQE
    }
    EXPECT_EQ(u.registered_buffers,
              s == Strategy::io_uring_zc_fixed ? sender.ring_slots() * kFieldsPerMessage : 0u);
}

INSTANTIATE_TEST_SUITE_P(Strategies, IoUringSenderTest,
                         ::testing::Values(Strategy::io_uring, Strategy::io_uring_zc,
                                           Strategy::io_uring_zc_fixed),
                         [](const auto& info) {
                             std::string n(to_string(info.param));
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

TEST(IoUringPolicy, DisabledSysctlRefusesWithOneLine) {
    EXPECT_FALSE(io_uring_policy_refusal({}, false, {}));               // 6.1: no such sysctl
    EXPECT_FALSE(io_uring_policy_refusal({0, -1}, false, {}));          // everyone
    EXPECT_FALSE(io_uring_policy_refusal({1, -1}, true, {}));           // CAP_SYS_ADMIN
    EXPECT_FALSE(io_uring_policy_refusal({1, 1234}, false, {5, 1234})); // the group
    auto one = io_uring_policy_refusal({1, -1}, false, {5});
    ASSERT_TRUE(one);
    EXPECT_NE(one->find("kernel.io_uring_disabled = 1"), std::string::npos) << *one;
    auto two = io_uring_policy_refusal({2, -1}, true, {});
    ASSERT_TRUE(two);
    EXPECT_NE(two->find("kernel.io_uring_disabled = 2"), std::string::npos) << *two;
    EXPECT_EQ(two->find('\n'), std::string::npos);
}

TEST(IoUringPolicy, ReadFromTheSysctlDirectoryBeforeAnythingStarts) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("copyscope-sysctl-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "io_uring_disabled") << "2\n";
    std::ofstream(dir / "io_uring_group") << "-1\n";
    const IoUringPolicy p = read_io_uring_policy(dir.string());
    EXPECT_EQ(p.disabled, 2);
    EXPECT_EQ(p.group, -1);
    try {
        check_io_uring_usable({Strategy::one_copy, Strategy::io_uring_zc}, dir.string());
        ADD_FAILURE() << "no UsageError";
    } catch (const UsageError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("--strategy io-uring-zc"), std::string::npos) << what;
        EXPECT_NE(what.find("io_uring_disabled = 2"), std::string::npos) << what;
    }
    // Strategies without io_uring never look.
    EXPECT_NO_THROW(check_io_uring_usable({Strategy::sendfile}, dir.string()));
    std::filesystem::remove_all(dir);
    EXPECT_FALSE(read_io_uring_policy(dir.string()).disabled);
}
