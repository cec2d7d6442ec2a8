#include "lab/connections.h"

#include <arpa/inet.h>
#include <cerrno>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include "common/errors.h"

namespace copyscope {

namespace {

UniqueFd tcp_socket() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw RunError(errno_message("socket", errno));
    return fd;
}

void set_timeouts(int fd, int seconds) {
    timeval tv{seconds, 0};
    if (::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        throw RunError(errno_message("setsockopt(SO_SNDTIMEO/SO_RCVTIMEO)", errno));
}

// connect(), riding out a signal: an interrupted connect goes on in the background, so
// wait for it to finish instead of failing.
void connect_to(int fd, const sockaddr_in& addr, int timeout_seconds) {
    char host[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &addr.sin_addr, host, sizeof host);
    const std::string what =
        std::string("connect to ") + host + ":" + std::to_string(ntohs(addr.sin_port));
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return;
    if (errno != EINTR) throw RunError(errno_message(what, errno));
    pollfd p{fd, POLLOUT, 0};
    int r;
    do {
        r = ::poll(&p, 1, timeout_seconds * 1000);
    } while (r < 0 && errno == EINTR);
    int err = r == 0 ? ETIMEDOUT : 0;
    socklen_t len = sizeof err;
    if (r > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) throw RunError(errno_message(what, err));
}

UniqueFd udp_socket() {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) throw RunError(errno_message("socket(SOCK_DGRAM)", errno));
    return fd;
}

sockaddr_in local_address(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        throw RunError(errno_message("getsockname", errno));
    return a;
}

// A connected UDP pair per connection: the receiving end bound in the receiver's namespace
// and connected back to its sender, so each flow's socket gets only its own datagrams.
std::vector<Connection> open_udp_connections(const Lab& lab, const sockaddr_in& to, unsigned count,
                                             int timeout_seconds, const UdpOptions& udp) {
    std::vector<Connection> connections;
    connections.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        Connection c;
        sockaddr_in bound = to;
        {
            NetnsGuard in(lab.receiver_ns());
            c.receiver = udp_socket();
            if (::bind(c.receiver.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0)
                throw RunError(errno_message("bind " + lab.receiver_address() + " (udp)", errno));
            bound = local_address(c.receiver.get());
        }
        {
            NetnsGuard in(lab.sender_ns());
            c.sender = udp_socket();
        }
        set_timeouts(c.sender.get(), timeout_seconds);
        set_timeouts(c.receiver.get(), timeout_seconds);
        if (::connect(c.sender.get(), reinterpret_cast<const sockaddr*>(&bound), sizeof bound) != 0)
            throw RunError(errno_message("connect (udp)", errno));
        const sockaddr_in from = local_address(c.sender.get());
        if (::connect(c.receiver.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) != 0)
            throw RunError(errno_message("connect the receiving end (udp)", errno));
        if (udp.receive_buffer > 0) {
            // As a UDP server would: a larger queue than the default (root may exceed
            // net.core.rmem_max with SO_RCVBUFFORCE).
            int bytes = int(udp.receive_buffer);
            if (::setsockopt(c.receiver.get(), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) !=
                    0 &&
                ::setsockopt(c.receiver.get(), SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes) != 0)
                throw RunError(errno_message("setsockopt(SO_RCVBUF)", errno));
        }
        if (udp.gso > 0) {
            int size = int(udp.gso);
            if (::setsockopt(c.sender.get(), SOL_UDP, UDP_SEGMENT, &size, sizeof size) != 0)
                throw RunError(
                    errno_message("setsockopt(UDP_SEGMENT " + std::to_string(size) + ")", errno));
        }
        connections.push_back(std::move(c));
    }
    return connections;
}

} // namespace

std::vector<Connection> open_connections(const Lab& lab, unsigned count, int timeout_seconds,
                                         const std::optional<UdpOptions>& udp) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(lab.receiver_port());
    if (::inet_pton(AF_INET, lab.receiver_address().c_str(), &addr.sin_addr) != 1)
        throw RunError("lab: bad receiver address " + lab.receiver_address());
    if (udp) {
        if (!lab.has_local_receiver())
            throw RunError("udp: the receiver must be in the lab (no sink speaks udp)");
        return open_udp_connections(lab, addr, count, timeout_seconds, *udp);
    }

    if (!lab.has_local_receiver()) {
        // The receiver is a sink elsewhere: only the sending ends are ours.
        std::vector<Connection> connections(count);
        for (Connection& c : connections) {
            c.sender = tcp_socket();
            set_timeouts(c.sender.get(), timeout_seconds);
            connect_to(c.sender.get(), addr, timeout_seconds);
        }
        return connections;
    }

    UniqueFd listener;
    {
        NetnsGuard in(lab.receiver_ns());
        listener = tcp_socket();
        if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
            throw RunError(errno_message("bind " + lab.receiver_address(), errno));
        if (::listen(listener.get(), int(count)) != 0)
            throw RunError(errno_message("listen", errno));
        socklen_t len = sizeof addr;
        if (::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            throw RunError(errno_message("getsockname", errno));
        set_timeouts(listener.get(), timeout_seconds); // bounds accept()
    }

    std::vector<Connection> connections;
    connections.reserve(count);
    for (unsigned i = 0; i < count; ++i) {
        Connection c;
        {
            NetnsGuard in(lab.sender_ns());
            c.sender = tcp_socket();
        }
        set_timeouts(c.sender.get(), timeout_seconds);
        connect_to(c.sender.get(), addr, timeout_seconds);
        do {
            c.receiver = UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        } while (!c.receiver && errno == EINTR);
        if (!c.receiver) throw RunError(errno_message("accept", errno));
        set_timeouts(c.receiver.get(), timeout_seconds);
        connections.push_back(std::move(c));
    }
    return connections;
}

} // namespace copyscope
