#include "lab/lab.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <net/if.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>

#include "common/errors.h"
#include "lab/offloads.h"

namespace copyscope {

namespace {

// The veth pairs' ends and their addresses (198.18.0.0/15 is reserved for benchmarks).
constexpr const char* kSenderIf = "cs-send";
constexpr const char* kReceiverIf = "cs-recv";
constexpr const char* kSenderAddr = "198.18.0.1/30";
constexpr const char* kReceiverAddr = "198.18.0.2/30";
// forward: sender - router (first pair), router - receiver (second pair).
constexpr const char* kRouterInIf = "cs-rt-in";
constexpr const char* kRouterOutIf = "cs-rt-out";
constexpr const char* kRouterInAddr = "198.18.0.2/30";
constexpr const char* kRouterOutAddr = "198.18.0.5/30";
constexpr const char* kForwardReceiverAddr = "198.18.0.6/30";
constexpr const char* kRouterInGw = "198.18.0.2";
constexpr const char* kRouterOutGw = "198.18.0.5";

std::string host_of(const char* cidr) {
    std::string s = cidr;
    return s.substr(0, s.find('/'));
}

std::string nl_failure(const std::string& what, int err) {
    return "lab: " + what + ": " + nl_geterror(err);
}

// A route-netlink socket bound to the namespace of the thread that opens it.
class RouteSocket {
  public:
    RouteSocket() : sock_(nl_socket_alloc()) {
        if (!sock_) throw RunError("lab: cannot allocate a netlink socket");
        if (int err = nl_connect(sock_, NETLINK_ROUTE); err < 0) {
            nl_socket_free(sock_);
            throw RunError(nl_failure("cannot connect a route netlink socket", err));
        }
    }
    ~RouteSocket() { nl_socket_free(sock_); }
    RouteSocket(const RouteSocket&) = delete;
    RouteSocket& operator=(const RouteSocket&) = delete;
    nl_sock* get() const { return sock_; }

  private:
    nl_sock* sock_;
};

struct LinkDeleter {
    void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkDeleter>;

// Brings a link up; with `mtu` (not 0), sets its MTU too.
void link_up(const RouteSocket& sock, const char* name, unsigned mtu = 0) {
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(sock.get(), 0, name, &raw); err < 0)
        throw RunError(nl_failure(std::string("cannot find link ") + name, err));
    LinkPtr link(raw);
    LinkPtr change(rtnl_link_alloc());
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (mtu) rtnl_link_set_mtu(change.get(), mtu);
    if (int err = rtnl_link_change(sock.get(), link.get(), change.get(), 0); err < 0)
        throw RunError(nl_failure(std::string("cannot bring up ") + name, err));
}

void add_address(const RouteSocket& sock, const char* ifname, const char* cidr) {
    int ifindex = 0;
    {
        rtnl_link* raw = nullptr;
        if (int err = rtnl_link_get_kernel(sock.get(), 0, ifname, &raw); err < 0)
            throw RunError(nl_failure(std::string("cannot find link ") + ifname, err));
        LinkPtr link(raw);
        ifindex = rtnl_link_get_ifindex(link.get());
    }
    nl_addr* local = nullptr;
    if (int err = nl_addr_parse(cidr, AF_INET, &local); err < 0)
        throw RunError(nl_failure(std::string("bad address ") + cidr, err));
    rtnl_addr* addr = rtnl_addr_alloc();
    rtnl_addr_set_ifindex(addr, ifindex);
    int err = rtnl_addr_set_local(addr, local);
    if (err >= 0) err = rtnl_addr_add(sock.get(), addr, 0);
    rtnl_addr_put(addr);
    nl_addr_put(local);
    if (err < 0)
        throw RunError(nl_failure(std::string("cannot add ") + cidr + " to " + ifname, err));
}

// Creates a veth pair from inside namespace `a`, its peer end born directly in `b`: the
// pair never exists in the root namespace.
void create_veth(const NetNs& a, const char* a_if, const NetNs& b, const char* b_if) {
    NetnsGuard in(a);
    RouteSocket sock;
    LinkPtr link(rtnl_link_veth_alloc());
    if (!link) throw RunError("lab: cannot allocate a veth link");
    rtnl_link_set_name(link.get(), a_if);
    LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
    rtnl_link_set_name(peer.get(), b_if);
    rtnl_link_set_ns_fd(peer.get(), b.fd());
    if (int err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        throw RunError(nl_failure("cannot create the veth pair", err));
}

int ifindex_of(const RouteSocket& sock, const char* ifname) {
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(sock.get(), 0, ifname, &raw); err < 0)
        throw RunError(nl_failure(std::string("cannot find link ") + ifname, err));
    LinkPtr link(raw);
    return rtnl_link_get_ifindex(link.get());
}

// A default route through `gateway` on `ifname`.
void add_default_route(const RouteSocket& sock, const char* ifname, const char* gateway) {
    int ifindex = ifindex_of(sock, ifname);
    nl_addr* dst = nullptr;
    nl_addr* gw = nullptr;
    if (int err = nl_addr_parse("default", AF_INET, &dst); err < 0)
        throw RunError(nl_failure("bad route destination", err));
    if (int err = nl_addr_parse(gateway, AF_INET, &gw); err < 0) {
        nl_addr_put(dst);
        throw RunError(nl_failure(std::string("bad gateway ") + gateway, err));
    }
    rtnl_route* route = rtnl_route_alloc();
    rtnl_route_set_family(route, AF_INET);
    rtnl_route_set_dst(route, dst);
    rtnl_nexthop* nh = rtnl_route_nh_alloc();
    rtnl_route_nh_set_ifindex(nh, ifindex);
    rtnl_route_nh_set_gateway(nh, gw);
    rtnl_route_add_nexthop(route, nh); // the route owns nh from here
    int err = rtnl_route_add(sock.get(), route, NLM_F_CREATE);
    rtnl_route_put(route);
    nl_addr_put(gw);
    nl_addr_put(dst);
    if (err < 0)
        throw RunError(nl_failure(std::string("cannot add a default route via ") + gateway, err));
}

struct Interface {
    const char* name;
    const char* cidr;
};

void configure(const NetNs& ns, unsigned mtu, std::initializer_list<Interface> interfaces,
               const char* gateway_if = nullptr, const char* gateway = nullptr) {
    NetnsGuard in(ns);
    RouteSocket sock;
    link_up(sock, "lo", mtu);
    for (const Interface& i : interfaces) {
        add_address(sock, i.name, i.cidr);
        link_up(sock, i.name, mtu);
    }
    if (gateway) add_default_route(sock, gateway_if, gateway);
}

// Lets the router's namespace forward IPv4. /proc/sys/net follows the namespace of the
// thread that opens it, so this is written from inside.
void enable_forwarding(const NetNs& ns) {
    NetnsGuard in(ns);
    for (const char* path :
         {"/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/conf/all/forwarding"}) {
        UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
        if (!fd || ::write(fd.get(), "1", 1) != 1)
            throw RunError(
                errno_message(std::string("lab: cannot enable forwarding: ") + path, errno));
    }
}

} // namespace

std::pair<std::string, uint16_t> parse_peer(const std::string& text) {
    auto bad = [&](const std::string& why) {
        return UsageError("--peer '" + text + "': " + why +
                          " (allowed: an IPv4 address and a port, e.g. 10.0.2.2:5201)");
    };
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw bad("no port");
    std::string host = text.substr(0, colon), port_text = text.substr(colon + 1);
    in_addr a{};
    if (::inet_pton(AF_INET, host.c_str(), &a) != 1) throw bad("not an IPv4 address");
    if (port_text.empty() || port_text.find_first_not_of("0123456789") != std::string::npos ||
        port_text.size() > 5 || std::stoul(port_text) == 0 || std::stoul(port_text) > 65535)
        throw bad("the port must be from 1 to 65535");
    return {host, uint16_t(std::stoul(port_text))};
}

std::unique_ptr<Lab> Lab::create(Transport transport, const std::string& peer, unsigned mtu,
                                 bool tx_checksum) {
    if (!tx_checksum && transport != Transport::veth && transport != Transport::forward)
        throw RunError("lab: TX checksum offload is turned off only on the sender's veth (veth "
                       "and forward transports)");
    std::unique_ptr<Lab> lab = build(transport, peer, mtu);
    if (lab->transport_ == Transport::nic) return lab;
    lab->sender_device_ = tx_checksum ? read_send_device(*lab->sender_, lab->sender_ifname_)
                                      : disable_tx_checksum(*lab->sender_, lab->sender_ifname_);
    return lab;
}

std::unique_ptr<Lab> Lab::build(Transport transport, const std::string& peer, unsigned mtu) {
    std::unique_ptr<Lab> lab(new Lab());
    lab->transport_ = transport;
    lab->mtu_ = mtu;
    switch (transport) {
    case Transport::nic: {
        // The tool's own namespace: traffic leaves through a real device.
        auto [host, port] = parse_peer(peer);
        lab->sender_ = std::make_unique<NetNs>(NetNs::current());
        lab->receiver_address_ = host;
        lab->receiver_port_ = port;
        return lab;
    }
    case Transport::loopback:
        lab->sender_ = std::make_unique<NetNs>(NetNs::create());
        configure(*lab->sender_, mtu, {});
        lab->receiver_address_ = "127.0.0.1";
        lab->sender_ifname_ = lab->receiver_ifname_ = "lo";
        return lab;
    case Transport::veth:
        lab->sender_ = std::make_unique<NetNs>(NetNs::create());
        lab->receiver_ = std::make_unique<NetNs>(NetNs::create());
        create_veth(*lab->sender_, kSenderIf, *lab->receiver_, kReceiverIf);
        configure(*lab->sender_, mtu, {{kSenderIf, kSenderAddr}});
        configure(*lab->receiver_, mtu, {{kReceiverIf, kReceiverAddr}});
        lab->receiver_address_ = host_of(kReceiverAddr);
        lab->sender_ifname_ = kSenderIf;
        lab->receiver_ifname_ = kReceiverIf;
        return lab;
    case Transport::forward:
        lab->sender_ = std::make_unique<NetNs>(NetNs::create());
        lab->router_ = std::make_unique<NetNs>(NetNs::create());
        lab->receiver_ = std::make_unique<NetNs>(NetNs::create());
        create_veth(*lab->sender_, kSenderIf, *lab->router_, kRouterInIf);
        create_veth(*lab->router_, kRouterOutIf, *lab->receiver_, kReceiverIf);
        enable_forwarding(*lab->router_);
        configure(*lab->sender_, mtu, {{kSenderIf, kSenderAddr}}, kSenderIf, kRouterInGw);
        configure(*lab->router_, mtu,
                  {{kRouterInIf, kRouterInAddr}, {kRouterOutIf, kRouterOutAddr}});
        configure(*lab->receiver_, mtu, {{kReceiverIf, kForwardReceiverAddr}}, kReceiverIf,
                  kRouterOutGw);
        lab->receiver_address_ = host_of(kForwardReceiverAddr);
        lab->sender_ifname_ = kSenderIf;
        lab->receiver_ifname_ = kReceiverIf;
        return lab;
    }
    throw RunError("lab: unknown transport");
}

std::vector<uint64_t> Lab::namespace_inodes() const {
    std::vector<uint64_t> inodes;
    for (auto& [role, inode] : namespace_roles())
        inodes.push_back(inode);
    return inodes;
}

std::vector<std::pair<std::string, uint64_t>> Lab::namespace_roles() const {
    std::vector<std::pair<std::string, uint64_t>> roles{{"sender", sender_->inode()}};
    if (router_) roles.emplace_back("router", router_->inode());
    if (receiver_) roles.emplace_back("receiver", receiver_->inode());
    return roles;
}

} // namespace copyscope
