#include "lab/offloads.h"

#include <cerrno>
#include <cstring>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "common/errors.h"
#include "common/unique_fd.h"

namespace copyscope {
namespace {

// A socket of the namespace the calling thread is in: the ioctls name devices there.
UniqueFd ioctl_socket() {
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) throw RunError(errno_message("lab: socket for the ethtool ioctl", errno));
    return fd;
}

ifreq request_for(const std::string& ifname) {
    ifreq ifr{};
    if (ifname.size() >= sizeof ifr.ifr_name)
        throw RunError("lab: interface name '" + ifname + "' is too long");
    std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size() + 1);
    return ifr;
}

// One legacy ethtool get/set of a feature group (ethtool_get_one_feature: whether any of its
// mask is in dev->features).
uint32_t ethtool_feature(int fd, const std::string& ifname, uint32_t cmd, uint32_t data = 0) {
    ifreq ifr = request_for(ifname);
    ethtool_value v{cmd, data};
    ifr.ifr_data = reinterpret_cast<char*>(&v);
    if (::ioctl(fd, SIOCETHTOOL, &ifr) != 0)
        throw RunError(
            errno_message("lab: ethtool ioctl " + std::to_string(cmd) + " on " + ifname, errno));
    return v.data;
}

SendDevice read_here(int fd, const std::string& ifname) {
    SendDevice d;
    d.name = ifname;
    ifreq ifr = request_for(ifname);
    if (::ioctl(fd, SIOCGIFMTU, &ifr) != 0)
        throw RunError(errno_message("lab: SIOCGIFMTU on " + ifname, errno));
    d.mtu = unsigned(ifr.ifr_mtu);
    d.tx_checksum = ethtool_feature(fd, ifname, ETHTOOL_GTXCSUM) != 0;
    d.scatter_gather = ethtool_feature(fd, ifname, ETHTOOL_GSG) != 0;
    return d;
}

} // namespace

SendDevice read_send_device(const NetNs& ns, const std::string& ifname) {
    NetnsGuard in(ns);
    UniqueFd fd = ioctl_socket();
    return read_here(fd.get(), ifname);
}

SendDevice disable_tx_checksum(const NetNs& ns, const std::string& ifname) {
    NetnsGuard in(ns);
    UniqueFd fd = ioctl_socket();
    ethtool_feature(fd.get(), ifname, ETHTOOL_STXCSUM, 0);
    SendDevice d = read_here(fd.get(), ifname);
    if (d.tx_checksum)
        throw RunError("lab: " + ifname + " kept TX checksum offload on after ETHTOOL_STXCSUM 0");
    return d;
}

} // namespace copyscope
