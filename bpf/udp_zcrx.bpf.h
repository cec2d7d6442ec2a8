/* SPDX-License-Identifier: GPL-2.0 */
/* Included at the end of copyscope.bpf.c: the UDP send and receive hooks and the bytes
 * TCP_ZEROCOPY_RECEIVE mapped. Each counter here is written by one program of this file.
 *
 * UDP has no send tracepoint (include/trace/events/udp.h has only udp_fail_queue_rcv_skb):
 * sock_send_length (from sock_sendmsg) gives each sendmsg's bytes with its socket. UDP
 * receive copies do not all pass skb_copy_datagram_iovec (udp_recvmsg copies linear skbs
 * with copy_linear_skb, unverified-checksum ones with skb_copy_and_csum_datagram_msg), and
 * UDP queue skbs have no socket: sock_recv_length, one per datagram, is exact. */

/* Lab UDP sockets only (the same namespace filter as TCP's); a tracepoint form counts in
 * its own map with --hooks both, as the send hook's does. */
static __always_inline struct cs_counters *counters_for_udp_sock(const struct sock *sk,
								 bool tp_form)
{
	if (!sk)
		return NULL;
	const struct net *net = sk->__sk_common.skc_net.net;
	if (!net)
		return NULL;
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_UDP)
		return NULL;
	__s64 slot = slot_for_sock_fields(net->ns.inum, sk->__sk_common.skc_num,
					  sk->__sk_common.skc_dport, sk->__sk_common.skc_daddr,
					  sk->__sk_common.skc_rcv_saddr);
	if (slot < 0)
		return NULL;
	__u32 key = slot;
	return bpf_map_lookup_elem(tp_form && cs_both_forms ? (void *)&cs_counters_tp
							    : (void *)&cs_counters,
				   &key);
}

/* One UDP sendmsg: its bytes, and those asked to go by reference. `zc_known`: msg_flags was
 * seen (fexit); else a SO_ZEROCOPY socket stands for MSG_ZEROCOPY (copyscope's zero-copy
 * strategy sets the one and always passes the other). */
static __always_inline void count_udp_send(const struct sock *sk, __u32 msg_flags, bool zc_known,
					   int ret)
{
	if (ret <= 0)
		return;
	struct cs_counters *c = counters_for_udp_sock(sk, !zc_known);
	if (!c)
		return;
	c->v[CS_UDP_SEND_CALLS] += 1;
	c->v[CS_UDP_SEND_BYTES] += ret;
	bool zc;
	if (zc_known) {
		zc = msg_flags & MSG_ZEROCOPY;
	} else {
		unsigned long sk_flags = sk->__sk_common.skc_flags;
		zc = sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_ZEROCOPY));
	}
	if (zc)
		c->v[CS_UDP_ZC_SEND_BYTES] += ret;
}

/* The return value through bpf_get_func_ret (5.17+): its place among the arguments differs
 * by kernel (udp_recvmsg lost its addr_len argument in 7.x). */
SEC("fexit/udp_sendmsg")
int BPF_PROG(cs_udp_send_fexit, struct sock *sk, struct msghdr *msg)
{
	__u64 ret = 0;
	bpf_get_func_ret(ctx, &ret);
	count_udp_send(sk, msg->msg_flags, true, (int)ret);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(cs_udp_send_tp, struct sock *sk, int ret, int flags)
{
	count_udp_send(sk, 0, false, ret);
	return 0;
}

/* Zerocopy UDP skbs leaving their socket: __ip_append_data pins the payload (headers in the
 * linear part, all payload in fragments) when the datagram fits the MTU (or GSO), the route
 * has SG and checksum offload and it is not corked; otherwise it copies and still attaches
 * the SO_ZEROCOPY socket's ubuf_info with its zerocopy bit cleared. UDP gives every sendmsg
 * its own ubuf_info, so at xmit the bit is that send's decision (not so for TCP, whose
 * ubuf_info spans sends and is cleared by a later copy). */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(cs_udp_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	const struct sock *sk = skb->sk;
	if (!sk || !skb_is_zerocopy(skb))
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	struct cs_ns_entry *e = ns_entry_of_dev(dev);
	struct cs_counters *c = e ? counters_of_slot(e->slot) : NULL;
	if (!c)
		return 0;
	struct ubuf_info_msgzc *u = BPF_CORE_READ(shinfo_of(skb), destructor_arg);
	if (!u)
		return 0;
	__u32 paged = skb->data_len;
	if (BPF_CORE_READ_BITFIELD_PROBED(u, zerocopy))
		c->v[CS_UDP_XMIT_PINNED_BYTES] += paged;
	else
		c->v[CS_UDP_XMIT_COPIED_ZC_BYTES] += skb->len;
	return 0;
}

static __always_inline void count_udp_recv(const struct sock *sk, int ret, bool tp_form)
{
	if (ret <= 0)
		return;
	struct cs_counters *c = counters_for_udp_sock(sk, tp_form);
	if (!c)
		return;
	c->v[CS_UDP_RECV_CALLS] += 1;
	c->v[CS_UDP_RECV_BYTES] += ret;
}

SEC("fexit/udp_recvmsg")
int BPF_PROG(cs_udp_recv_fexit, struct sock *sk)
{
	__u64 ret = 0;
	bpf_get_func_ret(ctx, &ret);
	count_udp_recv(sk, (int)ret, false);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(cs_udp_recv_tp, struct sock *sk, int ret, int flags)
{
	count_udp_recv(sk, ret, true);
	return 0;
}

/* ---- TCP_ZEROCOPY_RECEIVE ------------------------------------------------------------- */

/* Where a socket's namespace counts, by netns cookie: a cgroup sockopt program sees the
 * socket only as a bpf_sock, without its namespace, but bpf_get_netns_cookie gives the
 * cookie of the socket's namespace. Userspace fills it (SO_NETNS_COOKIE of a socket made in
 * each lab namespace). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_MAX_NAMESPACES);
	__type(key, __u64);   /* netns cookie */
	__type(value, __u32); /* counter slot */
} cs_netns_cookie SEC(".maps");

#define CS_SOL_TCP 6
#define CS_TCP_ZEROCOPY_RECEIVE 35 /* include/uapi/linux/tcp.h */

static __always_inline struct cs_counters *zcrx_lab_counters(struct bpf_sockopt *ctx)
{
	__u64 cookie = bpf_get_netns_cookie(ctx);
	__u32 *slot = bpf_map_lookup_elem(&cs_netns_cookie, &cookie);
	return slot ? bpf_map_lookup_elem(&cs_counters, slot) : NULL;
}

/* trace: the socket's own entry, by the key kept on the socket where it entered the table
 * (trace_remember). A socket not yet in the table (never seen sending or receiving through
 * the other programs) is not counted: its cookie cannot be made here. */
static __always_inline struct cs_counters *zcrx_trace_counters(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	if (!sk)
		return NULL;
	struct cs_sock_key *key = bpf_sk_storage_get(&cs_trace_sk_key, sk, 0, 0);
	if (!key)
		return NULL;
	struct cs_sock_key k = *key;
	return trace_counters_of(bpf_map_lookup_elem(&cs_trace_socks, &k));
}

/* do_tcp_getsockopt runs the cgroup getsockopt programs after tcp_zerocopy_receive with the
 * kernel's own struct tcp_zerocopy_receive (BPF_CGROUP_RUN_PROG_GETSOCKOPT_KERN, 6.1 too):
 * its length is what was mapped. Always allows the call (returns 1). */
SEC("cgroup/getsockopt")
int cs_zcrx_getsockopt(struct bpf_sockopt *ctx)
{
	if (ctx->level != CS_SOL_TCP || ctx->optname != CS_TCP_ZEROCOPY_RECEIVE)
		return 1;
	struct tcp_zerocopy_receive *zc = ctx->optval;
	if ((void *)(zc + 1) > ctx->optval_end)
		return 1;
	struct cs_counters *c = cs_tracing ? zcrx_trace_counters(ctx) : zcrx_lab_counters(ctx);
	if (!c)
		return 1;
	c->v[CS_ZCRX_CALLS] += 1;
	c->v[CS_ZCRX_MAPPED_BYTES] += zc->length;
	return 1;
}

/* trace: a receiver that only maps (TCP_ZEROCOPY_RECEIVE, no recvmsg) enters the table here.
 * tcp_zerocopy_receive calls tcp_rcv_space_adjust when it mapped or copied anything, inside
 * the getsockopt call and before do_tcp_getsockopt runs the cgroup programs, so that call's
 * bytes already find the entry. Every other caller (tcp_recvmsg_locked, tcp_read_sock) claims
 * a socket that has bytes to read; with --pid, one called in softirq (tcp_read_sock from
 * sockmap's parser) claims for whichever task was running, as any softirq claim would. */
SEC("tp_btf/tcp_rcv_space_adjust")
int BPF_PROG(cs_trace_rcv_claim, struct sock *sk)
{
	if (cs_tracing && BPF_CORE_READ_BITFIELD(sk, sk_protocol) == IPPROTO_TCP)
		cs_trace_claim(sk);
	return 0;
}
