// The strategies that let the kernel copy at send time: two-copy, per-field, one-copy.
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <vector>

#include "common/errors.h"
#include "strategies/io_uring_sender.h"
#include "strategies/sender.h"
#include "strategies/sendfile_sender.h"
#include "strategies/zero_copy_sender.h"

namespace copyscope {

uint64_t send_all(int fd, const std::byte* data, size_t len) {
    uint64_t calls = 0;
    while (len > 0) {
        ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw RunError("send timed out: the receiver stopped reading");
            throw RunError(errno_message("send", errno));
        }
        ++calls;
        data += n;
        len -= size_t(n);
    }
    return calls;
}

uint64_t sendmsg_all(int fd, const Message& message, int flags,
                     const std::function<void()>& on_call,
                     const std::function<void()>& on_enobufs) {
    std::array<iovec, kFieldsPerMessage> iov = message.iov();
    size_t first = 0;
    size_t left = message.size();
    uint64_t calls = 0;
    while (left > 0) {
        msghdr msg{};
        msg.msg_iov = iov.data() + first;
        msg.msg_iovlen = kFieldsPerMessage - first;
        ssize_t n = ::sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == ENOBUFS && on_enobufs) {
                on_enobufs();
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw RunError("sendmsg timed out: the receiver stopped reading");
            throw RunError(errno_message("sendmsg", errno));
        }
        ++calls;
        if (on_call) on_call();
        left -= size_t(n);
        // Skip the fields sent whole, shorten the one sent in part.
        size_t done = size_t(n);
        while (first < kFieldsPerMessage && done >= iov[first].iov_len) {
            done -= iov[first].iov_len;
            ++first;
        }
        if (done > 0) {
            iov[first].iov_base = static_cast<std::byte*>(iov[first].iov_base) + done;
            iov[first].iov_len -= done;
        }
    }
    return calls;
}

namespace {

// Gathers the fields into one staging buffer with memcpy (the application's own copy),
// then one send().
class TwoCopySender final : public MessageSender {
  public:
    explicit TwoCopySender(const SenderOptions& o)
        : fd_(o.fd), datagrams_(o.datagrams), message_(o.message_size), staging_(o.message_size) {}
    Message& next_message() override { return message_; }
    void send() override {
        std::byte* dst = staging_.data();
        for (size_t i = 0; i < kFieldsPerMessage; ++i) {
            std::memcpy(dst, message_.field(i), message_.field_size(i));
            dst += message_.field_size(i);
        }
        counts_.user_copy_bytes += message_.size();
        if (datagrams_) {
            const iovec one{staging_.data(), staging_.size()};
            counts_.calls += send_datagrams(fd_, &one, 1, *datagrams_, 0);
        } else {
            counts_.calls += send_all(fd_, staging_.data(), staging_.size());
        }
        counts_.bytes += message_.size();
        ++counts_.messages;
    }

  private:
    int fd_;
    const DatagramPlan* datagrams_;
    Message message_;
    std::vector<std::byte> staging_;
};

// One send() per field: 8 system calls per message.
class PerFieldSender final : public MessageSender {
  public:
    explicit PerFieldSender(const SenderOptions& o) : fd_(o.fd), message_(o.message_size) {}
    Message& next_message() override { return message_; }
    void send() override {
        for (size_t i = 0; i < kFieldsPerMessage; ++i)
            counts_.calls += send_all(fd_, message_.field(i), message_.field_size(i));
        counts_.bytes += message_.size();
        ++counts_.messages;
    }

  private:
    int fd_;
    Message message_;
};

// One sendmsg() over iovec[8]: the kernel gathers the fields as it copies.
class OneCopySender final : public MessageSender {
  public:
    explicit OneCopySender(const SenderOptions& o)
        : fd_(o.fd), datagrams_(o.datagrams), message_(o.message_size) {}
    Message& next_message() override { return message_; }
    void send() override {
        if (datagrams_)
            counts_.calls +=
                send_datagrams(fd_, message_.iov().data(), kFieldsPerMessage, *datagrams_, 0);
        else
            counts_.calls += sendmsg_all(fd_, message_, 0);
        counts_.bytes += message_.size();
        ++counts_.messages;
    }

  private:
    int fd_;
    const DatagramPlan* datagrams_;
    Message message_;
};

} // namespace

std::unique_ptr<MessageSender> make_sender(const SenderOptions& options) {
    if (options.datagrams && options.strategy == Strategy::per_field)
        throw RunError("per-field does not run over udp (a datagram per field)");
    switch (options.strategy) {
    case Strategy::two_copy:
        return std::make_unique<TwoCopySender>(options);
    case Strategy::per_field:
        return std::make_unique<PerFieldSender>(options);
    case Strategy::one_copy:
        return std::make_unique<OneCopySender>(options);
    case Strategy::zero_copy:
        return std::make_unique<ZeroCopySender>(options);
    case Strategy::sendfile:
        return std::make_unique<SendfileSender>(options);
    case Strategy::io_uring:
    case Strategy::io_uring_zc:
    case Strategy::io_uring_zc_fixed:
        return std::make_unique<IoUringSender>(options);
    }
    throw RunError("unknown strategy");
}

} // namespace copyscope
