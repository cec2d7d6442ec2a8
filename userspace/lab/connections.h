#pragma once
// TCP connections across the lab: the sending end is created in the sender's namespace,
// the receiving end accepted in the receiver's. Sockets keep their namespace for good, so
// the threads that use them need not enter it.
#include <vector>

#include "common/unique_fd.h"
#include "lab/lab.h"

namespace copyscope {

struct Connection {
    UniqueFd sender;
    UniqueFd receiver; // empty when the receiver is a sink outside the lab (nic)
};

// Opens `count` connections. Both ends are blocking with send/receive timeouts of
// `timeout_seconds`, so a stuck peer turns into an error instead of a hang.
std::vector<Connection> open_connections(const Lab& lab, unsigned count, int timeout_seconds);

} // namespace copyscope
