#pragma once
// sendfile: the way nginx and Kafka send. The 8 fields are copied into a file (a memfd:
// shmem, the same code as a tmpfs file) through a shared mapping of it, then sendfile(2)
// moves the file's pages to the socket by reference (MSG_SPLICE_PAGES in
// tcp_sendmsg_locked on 6.5+, do_tcp_sendpages on 6.1).
//
// The copy into the file is the application's own (user_copy_bytes), as two-copy's staging
// memcpy is: per message sendfile makes 2 copies per byte on one host, the fill and the
// receive copy, and 1 at the socket. Only a file written once and sent many times comes to
// 1 in all.
//
// The pages stay referenced by the skbs until the receiver has copied them (the
// retransmit queue until the ACK, a local receiver's queue until it reads), and sendfile
// has no completion to wait for. So a range is never written again in place: before it is
// reused its pages are released from the file (fallocate PUNCH_HOLE, in whole 2 MiB units
// so that no large folio is cut and zeroed in place) and the next fill faults fresh pages
// in, while the skbs keep the old ones.
#include <cstddef>

#include "common/unique_fd.h"
#include "strategies/sender.h"

namespace copyscope {

class SendfileSender final : public MessageSender {
  public:
    explicit SendfileSender(const SenderOptions& options);
    ~SendfileSender() override;
    SendfileSender(const SendfileSender&) = delete;
    SendfileSender& operator=(const SendfileSender&) = delete;

    Message& next_message() override { return message_; }
    void send() override;
    std::optional<SendfileStats> sendfile() const override { return stats_; }

    // The file range a message occupies: its size rounded up to whole 2 MiB units.
    static size_t range_bytes(size_t message_size);

  private:
    void release_range();
    void fill_range();
    void send_range();

    int fd_;
    Message message_;
    UniqueFd file_;
    std::byte* map_ = nullptr;
    size_t range_ = 0;
    bool reuse_in_place_;
    bool range_used_ = false; // the range holds a message that was sent
    SendfileStats stats_;
};

} // namespace copyscope
