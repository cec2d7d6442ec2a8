#include "lab/lab.h"

#include <cerrno>
#include <net/if.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>

#include "common/errors.h"

namespace copyscope {

namespace {

// The veth pair's two ends and their addresses (198.18.0.0/15 is reserved for benchmarks).
constexpr const char* kSenderIf = "cs-send";
constexpr const char* kReceiverIf = "cs-recv";
constexpr const char* kSenderAddr = "198.18.0.1/30";
constexpr const char* kReceiverAddr = "198.18.0.2/30";

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

void link_up(const RouteSocket& sock, const char* name) {
    rtnl_link* raw = nullptr;
    if (int err = rtnl_link_get_kernel(sock.get(), 0, name, &raw); err < 0)
        throw RunError(nl_failure(std::string("cannot find link ") + name, err));
    LinkPtr link(raw);
    LinkPtr change(rtnl_link_alloc());
    rtnl_link_set_flags(change.get(), IFF_UP);
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

// Creates the veth pair from inside the sender's namespace, its peer end born directly in
// the receiver's namespace: the pair never exists in the root namespace.
void create_veth(const NetNs& sender, const NetNs& receiver) {
    NetnsGuard in(sender);
    RouteSocket sock;
    LinkPtr link(rtnl_link_veth_alloc());
    if (!link) throw RunError("lab: cannot allocate a veth link");
    rtnl_link_set_name(link.get(), kSenderIf);
    LinkPtr peer(rtnl_link_veth_get_peer(link.get()));
    rtnl_link_set_name(peer.get(), kReceiverIf);
    rtnl_link_set_ns_fd(peer.get(), receiver.fd());
    if (int err = rtnl_link_add(sock.get(), link.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
        throw RunError(nl_failure("cannot create the veth pair", err));
}

void configure(const NetNs& ns, const char* ifname, const char* cidr) {
    NetnsGuard in(ns);
    RouteSocket sock;
    link_up(sock, "lo");
    if (ifname) {
        add_address(sock, ifname, cidr);
        link_up(sock, ifname);
    }
}

} // namespace

std::unique_ptr<Lab> Lab::create(Transport transport) {
    std::unique_ptr<Lab> lab(new Lab());
    lab->transport_ = transport;
    lab->sender_ = std::make_unique<NetNs>(NetNs::create());
    if (transport == Transport::loopback) {
        configure(*lab->sender_, nullptr, nullptr);
        lab->receiver_address_ = "127.0.0.1";
        lab->sender_ifname_ = lab->receiver_ifname_ = "lo";
        return lab;
    }
    lab->receiver_ = std::make_unique<NetNs>(NetNs::create());
    create_veth(*lab->sender_, *lab->receiver_);
    configure(*lab->sender_, kSenderIf, kSenderAddr);
    configure(*lab->receiver_, kReceiverIf, kReceiverAddr);
    std::string recv_addr = kReceiverAddr;
    lab->receiver_address_ = recv_addr.substr(0, recv_addr.find('/'));
    lab->sender_ifname_ = kSenderIf;
    lab->receiver_ifname_ = kReceiverIf;
    return lab;
}

std::vector<uint64_t> Lab::namespace_inodes() const {
    std::vector<uint64_t> inodes{sender_->inode()};
    if (receiver_) inodes.push_back(receiver_->inode());
    return inodes;
}

} // namespace copyscope
