#pragma once
// The lab: where a cell's traffic runs.
//   veth:     two anonymous namespaces, sender and receiver, joined by a veth pair
//             (198.18.0.1/30 <-> 198.18.0.2/30), both loopbacks up.
//   loopback: one anonymous namespace; sender and receiver use its lo (127.0.0.1).
// Configured through netlink (libnl-route-3). Destroying the Lab drops the namespaces and,
// with them, the veth pair.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lab/netns.h"
#include "report/cell.h"

namespace copyscope {

class Lab {
  public:
    static std::unique_ptr<Lab> create(Transport transport);

    Transport transport() const { return transport_; }
    const NetNs& sender_ns() const { return *sender_; }
    const NetNs& receiver_ns() const { return receiver_ ? *receiver_ : *sender_; }
    const std::string& receiver_address() const { return receiver_address_; }
    // Interface names inside the lab (veth: the sender's and the receiver's end).
    const std::string& sender_ifname() const { return sender_ifname_; }
    const std::string& receiver_ifname() const { return receiver_ifname_; }
    // Distinct namespace inode numbers of the lab, for filtering kernel events.
    std::vector<uint64_t> namespace_inodes() const;

  private:
    Lab() = default;
    Transport transport_ = Transport::veth;
    std::unique_ptr<NetNs> sender_;
    std::unique_ptr<NetNs> receiver_; // null for loopback: one namespace
    std::string receiver_address_;
    std::string sender_ifname_;
    std::string receiver_ifname_;
};

} // namespace copyscope
