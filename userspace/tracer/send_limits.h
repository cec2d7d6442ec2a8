#pragma once
// What limits MSG_ZEROCOPY sends, as the sender sees them: net.core.optmem_max in its
// namespace (the notification skbs are charged to the socket's option memory) and the
// locked-memory limit pinned pages are charged to. ENOBUFS comes from one of the two.
#include "lab/netns.h"
#include "model/ledger.h"

namespace copyscope {

// Reads optmem_max inside `sender` (a thread enters it: /proc/sys/net follows the reader's
// namespace); where the kernel has one global value (6.1: only the initial namespace has
// the file), reads it in this process's namespace and says so.
SendLimits read_send_limits(const NetNs& sender);

} // namespace copyscope
