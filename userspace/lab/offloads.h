#pragma once
// The sending device's offloads through the ethtool ioctl (SIOCETHTOOL: libnl has no
// ethtool calls), inside the lab's namespace. A lab device dies with its namespace, so a
// feature turned off here needs no restoring.
#include <string>

#include "lab/netns.h"
#include "model/ledger.h"

namespace copyscope {

// `ifname` in `ns` as the kernel has it now: MTU, TX checksum offload, scatter-gather.
SendDevice read_send_device(const NetNs& ns, const std::string& ifname);

// Turns TX checksum offload off on `ifname` in `ns` (ETHTOOL_STXCSUM: NETIF_F_CSUM_MASK
// leaves the wanted features) and reads the device back; RunError if the kernel refused or
// kept it on.
SendDevice disable_tx_checksum(const NetNs& ns, const std::string& ifname);

} // namespace copyscope
