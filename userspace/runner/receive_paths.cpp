#include "runner/receive_paths.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "common/errors.h"
#include "common/unique_fd.h"
#include "strategies/message.h"

namespace copyscope {

namespace {

// struct tcp_zerocopy_receive as include/uapi/linux/tcp.h has it (the same in 6.1 and 6.18);
// glibc's <netinet/tcp.h> has only its first three fields.
struct ZerocopyReceiveArgs {
    uint64_t address;
    uint32_t length;
    uint32_t recv_skip_hint;
    uint32_t inq;
    int32_t err;
    uint64_t copybuf_address;
    int32_t copybuf_len;
    uint32_t flags;
    uint64_t msg_control;
    uint64_t msg_controllen;
    uint32_t msg_flags;
    uint32_t reserved;
};
static_assert(sizeof(ZerocopyReceiveArgs) == 64);

// Waits for the socket to be readable; false on timeout.
bool wait_readable(int fd, int timeout_ms) {
    pollfd p{fd, POLLIN, 0};
    int r;
    do {
        r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r < 0) throw RunError(errno_message("poll", errno));
    return r > 0;
}

// The value under `field` in /proc/net/snmp's `Udp:` lines (a header line, then values).
uint64_t snmp_udp(const std::string& text, const std::string& field) {
    std::istringstream in(text);
    std::string header, values;
    while (std::getline(in, header)) {
        if (header.rfind("Udp: ", 0) != 0 || !std::getline(in, values)) continue;
        std::istringstream h(header), v(values);
        std::string name, value;
        while (h >> name && v >> value)
            if (name == field) return std::stoull(value);
    }
    throw RunError("/proc/net/snmp: no Udp " + field);
}

std::string read_text(const char* path) {
    std::ifstream f(path);
    if (!f) throw RunError(errno_message(std::string("open ") + path, errno));
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

} // namespace

NamespaceDrops namespace_drops(const NetNs& ns) {
    NetnsGuard in(ns);
    // thread-self: this thread's namespace (/proc/net is the process leader's).
    const std::string snmp = read_text("/proc/thread-self/net/snmp");
    NamespaceDrops d;
    d.udp_rcvbuf_errors = snmp_udp(snmp, "RcvbufErrors");
    d.udp_in_errors = snmp_udp(snmp, "InErrors");
    // /proc/net/dev: "name: rx_bytes rx_packets rx_errs rx_drop ..." after two header lines.
    std::istringstream dev(read_text("/proc/thread-self/net/dev"));
    std::string line;
    for (int i = 0; std::getline(dev, line); ++i) {
        const size_t colon = line.find(':');
        if (i < 2 || colon == std::string::npos) continue;
        std::istringstream v(line.substr(colon + 1));
        uint64_t bytes = 0, packets = 0, errs = 0, drop = 0;
        if (v >> bytes >> packets >> errs >> drop) d.device_rx_dropped += drop;
    }
    return d;
}

uint64_t socket_drops(int fd) {
    uint32_t info[SK_MEMINFO_VARS] = {};
    socklen_t len = sizeof info;
    if (::getsockopt(fd, SOL_SOCKET, SO_MEMINFO, info, &len) != 0)
        throw RunError(errno_message("getsockopt(SO_MEMINFO)", errno));
    if (len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
        throw RunError("getsockopt(SO_MEMINFO): no drop counter from this kernel");
    return info[SK_MEMINFO_DROPS];
}

void DatagramReceiver::receive(int fd, bool verify, std::vector<std::byte>& buffer,
                               const std::function<uint64_t()>& target,
                               const std::atomic<bool>& broken, int quiet_ms, int timeout_ms) {
    using Clock = std::chrono::steady_clock;
    phase_bytes = phase_datagrams = phase_errors = 0;
    phase_sizes.clear();
    auto last_progress = Clock::now();
    uint64_t drops = socket_drops(fd);
    for (;;) {
        ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
        if (n >= 0) {
            if (size_t(n) > buffer.size())
                throw RunError("udp: a " + std::to_string(n) + "-byte datagram was truncated");
            ++datagrams;
            ++phase_datagrams;
            phase_bytes += uint64_t(n);
            ++phase_sizes[uint32_t(n)];
            if (verify) phase_errors += verifier.check(buffer.data(), size_t(n));
            last_progress = Clock::now();
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            throw RunError(errno_message("recv (udp)", errno));
        // The queue is empty: is every datagram accounted for?
        const uint64_t now_drops = socket_drops(fd);
        if (now_drops != drops) {
            drops = now_drops;
            last_progress = Clock::now();
        }
        const uint64_t want = target();
        if (datagrams + drops >= want || broken.load(std::memory_order_relaxed)) return;
        const bool known = want != std::numeric_limits<uint64_t>::max();
        const auto idle =
            std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - last_progress);
        if (known && idle.count() >= quiet_ms) return; // the check says what is missing
        if (!known && idle.count() >= timeout_ms)
            throw RunError("recv (udp): nothing for " + std::to_string(timeout_ms) +
                           " ms while the sender was still sending");
        wait_readable(fd, 10);
    }
}

std::optional<std::string> zerocopy_receive_refused() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_message("socket (tcp)", errno);
    void* window = ::mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (window == MAP_FAILED) return errno_message("mmap of a TCP socket", errno);
    ZerocopyReceiveArgs zc{};
    zc.address = reinterpret_cast<uint64_t>(window);
    zc.length = 4096;
    socklen_t len = sizeof zc;
    // An unconnected socket has nothing to map: 0 or ENOTCONN where the option exists.
    const int r = ::getsockopt(fd.get(), IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &len);
    const int err = errno;
    ::munmap(window, 4096);
    if (r != 0 && (err == ENOPROTOOPT || err == EOPNOTSUPP || err == EPERM || err == EACCES))
        return errno_message("getsockopt(TCP_ZEROCOPY_RECEIVE)", err);
    return std::nullopt;
}

MappedReceiver::MappedReceiver(int fd) : fd_(fd) {
    window_ = ::mmap(nullptr, kWindow, PROT_READ, MAP_SHARED, fd, 0);
    if (window_ == MAP_FAILED) {
        window_ = nullptr;
        throw RunError(errno_message("zerocopy receive: mmap of the TCP socket", errno));
    }
}

MappedReceiver::~MappedReceiver() {
    if (window_) ::munmap(window_, kWindow);
}

MappedReceiver::Got MappedReceiver::receive(std::vector<std::byte>& buffer, uint64_t offset,
                                            bool verify, int timeout_ms) {
    Got got;
    ZerocopyReceiveArgs zc{};
    zc.address = reinterpret_cast<uint64_t>(window_);
    zc.length = kWindow;
    socklen_t len = sizeof zc;
    if (::getsockopt(fd_, IPPROTO_TCP, TCP_ZEROCOPY_RECEIVE, &zc, &len) != 0) {
        if (errno == EINTR) return got;
        throw RunError(errno_message("the kernel refuses TCP_ZEROCOPY_RECEIVE", errno));
    }
    if (zc.err) throw RunError(errno_message("TCP_ZEROCOPY_RECEIVE: socket error", -zc.err));
    if (zc.length > 0) {
        const auto* data = static_cast<const std::byte*>(window_);
        if (verify) got.payload_errors += count_pattern_errors(data, zc.length, offset);
        got.mapped = zc.length;
    }
    if (zc.recv_skip_hint > 0) {
        // The bytes the kernel did not map: read them, a copy.
        const size_t want = std::min<size_t>(zc.recv_skip_hint, buffer.size());
        ssize_t n = ::recv(fd_, buffer.data(), want, MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            throw RunError(errno_message("recv (zerocopy receive's remainder)", errno));
        if (n > 0) {
            if (verify)
                got.payload_errors +=
                    count_pattern_errors(buffer.data(), size_t(n), offset + got.mapped);
            got.copied = uint64_t(n);
        }
    }
    if (got.mapped == 0 && got.copied == 0) {
        // Nothing queued: wait. The peer's FIN is a hang-up with nothing left to read (not
        // a MSG_PEEK: a peek copies, and the ledger would count it).
        pollfd p{fd_, POLLIN | POLLRDHUP, 0};
        int r;
        do {
            r = ::poll(&p, 1, timeout_ms);
        } while (r < 0 && errno == EINTR);
        if (r < 0) throw RunError(errno_message("poll", errno));
        if (r == 0)
            throw RunError("zerocopy receive: nothing for " + std::to_string(timeout_ms) +
                           " ms: the sender stopped sending");
        int queued = 0;
        if ((p.revents & (POLLRDHUP | POLLHUP)) && ::ioctl(fd_, SIOCINQ, &queued) == 0 &&
            queued == 0)
            got.eof = true;
    }
    return got;
}

} // namespace copyscope
