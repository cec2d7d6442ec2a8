#include "strategies/sendfile_sender.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "common/errors.h"

namespace copyscope {

namespace {

// A PMD-sized huge page on x86-64 and arm64 (4 KiB pages): the largest folio shmem uses.
constexpr size_t kRangeUnit = size_t(2) << 20;

} // namespace

size_t SendfileSender::range_bytes(size_t message_size) {
    return (message_size + kRangeUnit - 1) / kRangeUnit * kRangeUnit;
}

SendfileSender::SendfileSender(const SenderOptions& o)
    : fd_(o.fd), message_(o.message_size), range_(range_bytes(o.message_size)),
      reuse_in_place_(o.reuse_file_range_in_place) {
    file_ = UniqueFd(::memfd_create("copyscope-sendfile", MFD_CLOEXEC));
    if (!file_) throw RunError(errno_message("memfd_create", errno));
    if (::ftruncate(file_.get(), off_t(range_)) != 0)
        throw RunError(errno_message("ftruncate(memfd)", errno));
    void* map = ::mmap(nullptr, range_, PROT_READ | PROT_WRITE, MAP_SHARED, file_.get(), 0);
    if (map == MAP_FAILED) throw RunError(errno_message("mmap(memfd)", errno));
    map_ = static_cast<std::byte*>(map);
    // sendfile has no MSG_NOSIGNAL: a peer gone away raises SIGPIPE at the sending thread
    // (sk_stream_error). Held pending on this thread instead, the failure is EPIPE.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
}

SendfileSender::~SendfileSender() {
    if (map_) ::munmap(map_, range_);
}

// The skbs of the last message may still hold the range's pages: take them out of the file
// (they live on, referenced by the skbs) so the fill below gets fresh ones. A punch that
// covered part of a page or folio would zero it in place instead: the range is whole units.
void SendfileSender::release_range() {
    if (!range_used_ || reuse_in_place_) return;
    if (::fallocate(file_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, off_t(range_)) != 0)
        throw RunError(errno_message("fallocate(PUNCH_HOLE) of the sendfile range", errno));
    ++stats_.ranges_released;
    stats_.bytes_released += range_;
}

// The application's copy: the fields into the file's pages, through the mapping.
void SendfileSender::fill_range() {
    std::byte* dst = map_;
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        std::memcpy(dst, message_.field(i), message_.field_size(i));
        dst += message_.field_size(i);
    }
    counts_.user_copy_bytes += message_.size();
    stats_.file_bytes_written += message_.size();
}

void SendfileSender::send_range() {
    off_t offset = 0;
    const off_t end = off_t(message_.size());
    while (offset < end) {
        ssize_t n = ::sendfile(fd_, file_.get(), &offset, size_t(end - offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw RunError("sendfile timed out: the receiver stopped reading");
            throw RunError(errno_message("sendfile", errno));
        }
        if (n == 0) throw RunError("sendfile moved no bytes (the file is shorter than a message)");
        ++counts_.calls;
    }
    range_used_ = true;
}

void SendfileSender::send() {
    release_range();
    fill_range();
    send_range();
    counts_.bytes += message_.size();
    ++counts_.messages;
}

} // namespace copyscope
