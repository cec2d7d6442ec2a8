#pragma once
// The one interface every send strategy implements. A sender owns its message buffers and
// writes whole messages to a connected TCP socket, partial sends completed, never dropped;
// or, over UDP, as the datagrams of its DatagramPlan. Errors throw RunError.
#include <functional>
#include <memory>

#include "model/cell.h"
#include "strategies/datagrams.h"
#include "strategies/message.h"

namespace copyscope {

struct SendCounts {
    uint64_t bytes = 0;
    uint64_t messages = 0;
    uint64_t calls = 0;
    uint64_t user_copy_bytes = 0;
};

class MessageSender {
  public:
    virtual ~MessageSender() = default;
    // The message to fill and send next. The zero-copy sender hands out a buffer only once
    // the kernel has released it.
    virtual Message& next_message() = 0;
    // Sends `next_message()` whole.
    virtual void send() = 0;
    // After the last message: zero-copy waits for every completion. Nothing for the others.
    virtual void finish() {}
    const SendCounts& counts() const { return counts_; }
    // Zero-copy notifications; nullopt for strategies that do not use MSG_ZEROCOPY.
    virtual std::optional<ZerocopyStats> zerocopy() const { return std::nullopt; }
    // io_uring CQEs and notifications; nullopt for strategies that do not use io_uring.
    virtual std::optional<IoUringStats> io_uring() const { return std::nullopt; }
    // What sendfile did to its file; nullopt for the other strategies.
    virtual std::optional<SendfileStats> sendfile() const { return std::nullopt; }

  protected:
    SendCounts counts_;
};

struct SenderOptions {
    Strategy strategy = Strategy::one_copy;
    size_t message_size = 65536;
    int fd = -1; // connected, blocking TCP socket with SO_SNDTIMEO set
    // Zero-copy: give up waiting for completions after this long without progress.
    int completion_timeout_ms = 10000;
    // sendfile: rewrite the file's range in place instead of releasing its pages first.
    // Never for measuring: only the test that shows the payload it corrupts sets it.
    bool reuse_file_range_in_place = false;
    // udp: the message's datagrams (fd is a connected UDP socket); null for TCP.
    const DatagramPlan* datagrams = nullptr;
};

std::unique_ptr<MessageSender> make_sender(const SenderOptions& options);

// Writes all of [data, data + len) with send(); returns the number of send() calls.
uint64_t send_all(int fd, const std::byte* data, size_t len);

// Sends the whole message with one sendmsg(flags) over its iovec, resuming after partial
// sends; returns the number of calls that moved bytes. `on_call` (may be empty) runs after
// each of them; `on_enobufs` (may be empty: then ENOBUFS is an error) runs when the kernel
// refuses for lack of option memory or locked pages, before the call is retried.
uint64_t sendmsg_all(int fd, const Message& message, int flags,
                     const std::function<void()>& on_call = {},
                     const std::function<void()>& on_enobufs = {});

} // namespace copyscope
