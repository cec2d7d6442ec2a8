#pragma once
// May this process use io_uring here, and does the kernel have what the io_uring strategies
// send with? Checked before a run starts, so that a refusal is one line and exit 2 rather
// than a failed cell.
//
// kernel.io_uring_disabled (6.6+; absent on 6.1): 0 every process may call io_uring_setup;
// 1 only CAP_SYS_ADMIN or members of kernel.io_uring_group (-1: no group); 2 nobody (EPERM).
// Only setting a ring up is gated, and an LSM or a seccomp filter may refuse it too.
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "model/spec.h"

namespace copyscope {

// The sysctls as procfs shows them; nullopt where the file is absent or unreadable.
struct IoUringPolicy {
    std::optional<long> disabled; // kernel.io_uring_disabled
    std::optional<long> group;    // kernel.io_uring_group
};

IoUringPolicy read_io_uring_policy(const std::string& sysctl_dir = "/proc/sys/kernel");

// Why the policy refuses io_uring_setup to a process with these credentials; nullopt when
// it allows it.
std::optional<std::string> io_uring_policy_refusal(const IoUringPolicy& policy, bool cap_sys_admin,
                                                   const std::vector<gid_t>& groups);

// The policy, then a real ring and the opcodes `strategies` need (IORING_OP_SEND, or
// IORING_OP_SEND_ZC: 6.0+). Throws UsageError with one line naming what refused and what
// would allow it. Does nothing when no strategy uses io_uring.
void check_io_uring_usable(const std::vector<Strategy>& strategies,
                           const std::string& sysctl_dir = "/proc/sys/kernel");

} // namespace copyscope
