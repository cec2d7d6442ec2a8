/* SPDX-License-Identifier: GPL-2.0 */
/* Zerocopy skbs, the flows they belong to, and what a device does to them. Included by
 * copyscope.bpf.c after its namespace and skb helpers.
 *
 * A MSG_ZEROCOPY skb carries its ubuf_info (uarg) in skb_shinfo(skb)->destructor_arg; the
 * uarg lives in the cb of the notification skb, whose owner is the sending socket
 * (msg_zerocopy_alloc: skb_set_owner_w). So every zerocopy skb, wherever it is (a clone
 * on a tap, a forwarded or received skb with no socket), names the socket that sent it.
 * That scopes device-level counts in a namespace shared with the host (nic) to the run's
 * own flows. */

#define CS_PACKET_OUTGOING 4 /* include/uapi/linux/if_packet.h */

/* Function and list addresses from /proc/kallsyms (libbpf resolves typeless ksyms there);
 * weak: 0 where the kernel has no such symbol. */
extern const void msg_zerocopy_complete __ksym __weak; /* 6.10+: ubuf_info_ops.complete */
extern const void msg_zerocopy_callback __ksym __weak; /* before: ubuf_info.callback */
extern const void ptype_all __ksym __weak; /* global tap list before per-namespace taps */

/* struct ubuf_info had a callback before v6.10 (commit 7ab4f16f9e2d "net: extend ubuf_info
 * callback to ops structure"), ops since. */
struct ubuf_info___cb {
	void *callback;
} __attribute__((preserve_access_index));

/* Is this uarg a MSG_ZEROCOPY one (not io_uring's, vhost's or tun's)? uarg may come from a
 * probed read: everything here is probed too. */
static __always_inline bool uarg_is_msgzc(const struct ubuf_info *uarg)
{
	if (bpf_core_field_exists(struct ubuf_info, ops)) {
		const struct ubuf_info_ops *ops = BPF_CORE_READ(uarg, ops);
		if (!ops)
			return false;
		__u64 complete = (__u64)BPF_CORE_READ(ops, complete);
		return complete && complete == (__u64)&msg_zerocopy_complete;
	}
	__u64 cb = (__u64)BPF_CORE_READ((struct ubuf_info___cb *)uarg, callback);
	return cb && cb == (__u64)&msg_zerocopy_callback;
}

/* The MSG_ZEROCOPY uarg of a zerocopy skb, or NULL. A set low bit marks "no uarg"
 * (skb_zcopy_init with a nouarg pointer). */
static __always_inline struct ubuf_info_msgzc *skb_msgzc(const struct sk_buff *skb)
{
	struct skb_shared_info *sh = shinfo_of(skb);
	__u64 arg = (__u64)BPF_CORE_READ(sh, destructor_arg);
	if (!arg || (arg & 1))
		return NULL;
	struct ubuf_info *uarg = (struct ubuf_info *)arg;
	return uarg_is_msgzc(uarg) ? (struct ubuf_info_msgzc *)uarg : NULL;
}

/* The sending socket of a MSG_ZEROCOPY uarg: the owner of the notification skb it lives in. */
static __always_inline struct sock *msgzc_sock(const struct ubuf_info_msgzc *uarg)
{
	struct sk_buff *notify =
		(struct sk_buff *)((char *)uarg - bpf_core_field_offset(struct sk_buff, cb));
	return BPF_CORE_READ(notify, sk);
}

/* counters_for_tcp_sock for a socket pointer from a probed read. */
static __always_inline struct cs_counters *counters_for_sock_probed(const struct sock *sk)
{
	if (!sk)
		return NULL;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return counters_for_sock_fields(
		BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum), BPF_CORE_READ(sk, __sk_common.skc_num),
		BPF_CORE_READ(sk, __sk_common.skc_dport), BPF_CORE_READ(sk, __sk_common.skc_daddr),
		BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
}

/* The counters of a MSG_ZEROCOPY sender (TCP or UDP: both queue completions on the socket's
 * error queue) from a probed pointer: a completion's socket. */
static __always_inline struct cs_counters *counters_for_zc_sock_probed(const struct sock *sk)
{
	if (!sk)
		return NULL;
	__u16 protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return NULL;
	return counters_for_sock_fields(
		BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum), BPF_CORE_READ(sk, __sk_common.skc_num),
		BPF_CORE_READ(sk, __sk_common.skc_dport), BPF_CORE_READ(sk, __sk_common.skc_daddr),
		BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
}

/* Is a zerocopy skb one of the run's flows? Its uarg's socket, else its own socket. */
static __always_inline bool skb_of_our_flows(const struct sk_buff *skb)
{
	struct ubuf_info_msgzc *uarg = skb_msgzc(skb);
	const struct sock *sk = uarg ? msgzc_sock(uarg) : BPF_CORE_READ(skb, sk);
	return counters_for_sock_probed(sk) != NULL;
}

/* The namespace filter's entry for a device (a BTF pointer: read directly). */
static __always_inline struct cs_ns_entry *ns_entry_of_dev(const struct net_device *dev)
{
	if (!dev)
		return NULL;
	const struct net *net = dev->nd_net.net;
	if (!net)
		return NULL;
	__u32 inum = net->ns.inum;
	return bpf_map_lookup_elem(&cs_ns_filter, &inum);
}

static __always_inline struct cs_counters *counters_of_slot(__u32 slot)
{
	return bpf_map_lookup_elem(&cs_counters, &slot);
}

/* ---- what a device does ----------------------------------------------------------------- */

/* struct net has its own tap list since per-namespace packet chains (between 6.12 and
 * 6.18; dev_nit_active() reads dev_net(dev)->ptype_all); before, one global list. */
struct net___taps {
	struct list_head ptype_all;
} __attribute__((preserve_access_index));

/* dev_nit_active(): an AF_PACKET socket (tcpdump, ...) listens on this device or on all. */
static __always_inline bool tap_active(const struct net_device *dev)
{
	const struct list_head *l =
		(const void *)((char *)dev + bpf_core_field_offset(struct net_device, ptype_all));
	if (BPF_CORE_READ(l, next) != l)
		return true;
	if (bpf_core_field_exists(struct net___taps, ptype_all)) {
		struct net___taps *net = (void *)BPF_CORE_READ(dev, nd_net.net);
		const struct list_head *nl =
			(const void *)((char *)net + bpf_core_field_offset(struct net___taps, ptype_all));
		return BPF_CORE_READ(nl, next) != nl;
	}
	const struct list_head *g = (const struct list_head *)&ptype_all;
	if (!g)
		return false;
	struct list_head *next = NULL;
	bpf_probe_read_kernel(&next, sizeof next, &g->next);
	return next && next != g;
}

/* A tun/tap device (rtnl_link_ops->kind "tun"): tun_net_xmit copies zerocopy pages. */
static __always_inline bool dev_is_tun(const struct net_device *dev)
{
	const struct rtnl_link_ops *ops = BPF_CORE_READ(dev, rtnl_link_ops);
	if (!ops)
		return false;
	const char *kind = BPF_CORE_READ(ops, kind);
	char k[4] = {};
	if (!kind || bpf_probe_read_kernel(k, sizeof k, kind))
		return false;
	return k[0] == 't' && k[1] == 'u' && k[2] == 'n' && k[3] == 0;
}

static __always_inline bool dev_has_sg(const struct net_device *dev)
{
	__u64 features = BPF_CORE_READ(dev, features);
	return features & (1ULL << NETIF_F_SG_BIT);
}

/* ---- zerocopy skbs received, followed to TCP ------------------------------------------- */

/* A zerocopy skb received in a watched namespace (netif_receive_skb), until TCP sees it
 * (tcp_probe), it is forwarded on, or it is dropped. Keyed by skb pointer; userspace clears
 * the map with the counters. */
struct cs_arrival {
	__u32 slot;
	__u32 bytes; /* paged bytes on arrival */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct cs_arrival);
} cs_arrivals SEC(".maps");
