#pragma once
// TCP connections across the lab: the sending end is created in the sender's namespace,
// the receiving end accepted in the receiver's. Sockets keep their namespace for good, so
// the threads that use them need not enter it.
#include <cstdint>
#include <optional>
#include <vector>

#include "common/unique_fd.h"
#include "lab/lab.h"

namespace copyscope {

struct Connection {
    UniqueFd sender;
    UniqueFd receiver; // empty when the receiver is a sink outside the lab (nic)
};

// UDP instead of TCP: connected datagram sockets.
struct UdpOptions {
    uint32_t gso = 0;            // UDP_SEGMENT on the sending end; 0: none
    uint32_t receive_buffer = 0; // SO_RCVBUF(FORCE) on the receiving end; 0: the default
};

// Opens `count` connections (TCP, or with `udp` connected UDP pairs). Both ends are
// blocking with send/receive timeouts of `timeout_seconds`, so a stuck peer turns into an
// error instead of a hang.
std::vector<Connection> open_connections(const Lab& lab, unsigned count, int timeout_seconds,
                                         const std::optional<UdpOptions>& udp = std::nullopt);

} // namespace copyscope
