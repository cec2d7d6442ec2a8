#include "strategies/io_uring_support.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <linux/capability.h>
#include <unistd.h>

#include "common/capabilities.h"
#include "common/errors.h"
#include "strategies/io_uring_uapi.h"

namespace copyscope {
namespace {

std::optional<long> read_number(const std::string& path) {
    std::ifstream f(path);
    long value = 0;
    if (!(f >> value)) return std::nullopt;
    return value;
}

std::vector<gid_t> current_groups() {
    std::vector<gid_t> groups{getegid()};
    const int n = getgroups(0, nullptr);
    if (n > 0) {
        std::vector<gid_t> more(static_cast<size_t>(n));
        if (getgroups(n, more.data()) == n) groups.insert(groups.end(), more.begin(), more.end());
    }
    return groups;
}

std::string names(const std::vector<Strategy>& strategies) {
    std::string out;
    for (Strategy s : strategies)
        if (uses_io_uring(s)) out += (out.empty() ? "" : ", ") + std::string(to_string(s));
    return out;
}

} // namespace

IoUringPolicy read_io_uring_policy(const std::string& dir) {
    return {read_number(dir + "/io_uring_disabled"), read_number(dir + "/io_uring_group")};
}

std::optional<std::string> io_uring_policy_refusal(const IoUringPolicy& policy, bool cap_sys_admin,
                                                   const std::vector<gid_t>& groups) {
    if (!policy.disabled || *policy.disabled == 0) return std::nullopt;
    if (*policy.disabled == 1) {
        if (cap_sys_admin) return std::nullopt;
        const long group = policy.group.value_or(-1);
        if (group >= 0 && std::find(groups.begin(), groups.end(), gid_t(group)) != groups.end())
            return std::nullopt;
        return "kernel.io_uring_disabled = 1: only CAP_SYS_ADMIN or members of "
               "kernel.io_uring_group (" +
               std::to_string(group) + (group < 0 ? ": none" : "") +
               ") may set up io_uring, and this process is neither";
    }
    return "kernel.io_uring_disabled = " + std::to_string(*policy.disabled) +
           ": io_uring_setup is refused to every process (0 allows it; 1 allows CAP_SYS_ADMIN "
           "and kernel.io_uring_group)";
}

void check_io_uring_usable(const std::vector<Strategy>& strategies, const std::string& dir) {
    const bool any = std::any_of(strategies.begin(), strategies.end(), uses_io_uring);
    if (!any) return;
    const bool zc = std::any_of(strategies.begin(), strategies.end(), uses_send_zc);
    const std::string who = "--strategy " + names(strategies);
    const IoUringPolicy policy = read_io_uring_policy(dir);
    if (auto why = io_uring_policy_refusal(policy, current_capabilities().has(CAP_SYS_ADMIN),
                                           current_groups()))
        throw UsageError(who + ": " + *why);
    // The sysctl is not the only gate (seccomp, an LSM, a kernel without io_uring): set a
    // ring up for real, and ask it for the opcodes.
    io_uring ring{};
    const int err = io_uring_queue_init(2, &ring, 0);
    if (err < 0)
        throw UsageError(who + ": io_uring_setup failed: " + std::strerror(-err) +
                         (err == -ENOSYS  ? " (a kernel without io_uring)"
                          : err == -EPERM ? " (refused: kernel.io_uring_disabled, a seccomp "
                                            "filter or a security module)"
                                          : ""));
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    std::string missing;
    if (!probe) {
        missing = "the kernel answers no opcode probe (IORING_REGISTER_PROBE, 5.6+)";
    } else {
        if (!io_uring_opcode_supported(probe, IORING_OP_SEND)) missing = "IORING_OP_SEND (5.6+)";
        if (zc && !io_uring_opcode_supported(probe, IORING_OP_SEND_ZC))
            missing += (missing.empty() ? "" : ", ") + std::string("IORING_OP_SEND_ZC (6.0+)");
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring);
    if (!missing.empty()) throw UsageError(who + ": this kernel's io_uring lacks " + missing);
}

} // namespace copyscope
