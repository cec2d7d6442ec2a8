#pragma once
// The lab: where a cell's traffic runs.
//   veth:     two anonymous namespaces, sender and receiver, joined by a veth pair
//             (198.18.0.1/30 <-> 198.18.0.2/30), both loopbacks up.
//   loopback: one anonymous namespace; sender and receiver use its lo (127.0.0.1).
//   forward:  sender -> router -> receiver, three anonymous namespaces and two veth pairs
//             (198.18.0.1/30 - 198.18.0.2/30 | 198.18.0.5/30 - 198.18.0.6/30); the router
//             forwards, the ends route through it.
//   nic:      no namespace of its own: the sender uses copyscope's own namespace and reaches
//             a sink at the peer address through whatever device routes there.
// Configured through netlink (libnl-route-3). Destroying the Lab drops the namespaces and,
// with them, the veth pairs.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lab/netns.h"
#include "model/cell.h"
#include "model/ledger.h"

namespace copyscope {

class Lab {
  public:
    // `peer` ("HOST:PORT") is the sink's address for the nic transport, unused otherwise.
    // `mtu` (not 0) is set on every link of the lab, lo included (not for nic: the host's
    // own devices are left alone). `tx_checksum` false turns TX checksum offload off on the
    // sender's veth (veth and forward only: RunError otherwise).
    static std::unique_ptr<Lab> create(Transport transport, const std::string& peer = "",
                                       unsigned mtu = 0, bool tx_checksum = true);

    Transport transport() const { return transport_; }
    const NetNs& sender_ns() const { return *sender_; }
    const NetNs& receiver_ns() const { return receiver_ ? *receiver_ : *sender_; }
    const NetNs* router_ns() const { return router_.get(); }
    // False for nic: the receiver is a sink outside the lab, not ours to run.
    bool has_local_receiver() const { return transport_ != Transport::nic; }
    const std::string& receiver_address() const { return receiver_address_; }
    uint16_t receiver_port() const { return receiver_port_; } // 0: any (we listen)
    // Interface names inside the lab (veth: the sender's and the receiver's end).
    const std::string& sender_ifname() const { return sender_ifname_; }
    const std::string& receiver_ifname() const { return receiver_ifname_; }
    unsigned mtu() const { return mtu_; } // 0: the kernel's defaults
    // The device the sender's traffic leaves by, as read back after set-up (MTU, TX
    // checksum offload, scatter-gather); nullopt for nic (the host's devices).
    const std::optional<SendDevice>& sender_device() const { return sender_device_; }
    // Distinct namespace inode numbers of the lab, for filtering kernel events.
    std::vector<uint64_t> namespace_inodes() const;
    // The same with the role each plays: "sender", "router", "receiver" (one namespace
    // playing both ends is listed once, as "sender").
    std::vector<std::pair<std::string, uint64_t>> namespace_roles() const;

  private:
    Lab() = default;
    // The namespaces, links, addresses and routes of `transport`.
    static std::unique_ptr<Lab> build(Transport transport, const std::string& peer, unsigned mtu);
    Transport transport_ = Transport::veth;
    std::unique_ptr<NetNs> sender_;
    std::unique_ptr<NetNs> router_;   // forward only
    std::unique_ptr<NetNs> receiver_; // null when the sender's namespace is the only one
    std::string receiver_address_;
    uint16_t receiver_port_ = 0;
    unsigned mtu_ = 0;
    std::string sender_ifname_;
    std::string receiver_ifname_;
    std::optional<SendDevice> sender_device_;
};

// Splits "HOST:PORT" (IPv4 dotted quad); throws UsageError naming the bad text.
std::pair<std::string, uint16_t> parse_peer(const std::string& text);

} // namespace copyscope
