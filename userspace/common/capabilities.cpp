#include "common/capabilities.h"

#include "common/errors.h"

#include <cstring>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace copyscope {

std::string errno_message(const std::string& what, int err) {
    return what + ": " + std::strerror(err);
}

CapabilitySet current_capabilities() {
    __user_cap_header_struct header{};
    header.version = _LINUX_CAPABILITY_VERSION_3;
    header.pid = 0;
    __user_cap_data_struct data[2]{};
    CapabilitySet set;
    if (syscall(SYS_capget, &header, data) == 0)
        set.effective = uint64_t(data[0].effective) | (uint64_t(data[1].effective) << 32);
    return set;
}

std::vector<std::string> missing_run_capabilities(const CapabilitySet& caps) {
    std::vector<std::string> missing;
    if (!caps.has(CAP_SYS_ADMIN)) missing.push_back("CAP_SYS_ADMIN");
    if (!caps.has(CAP_NET_ADMIN)) missing.push_back("CAP_NET_ADMIN");
    return missing;
}

} // namespace copyscope
