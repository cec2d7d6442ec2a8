// SPDX-License-Identifier: GPL-2.0
/* copyscope's kernel side: counts, per lab network namespace, the bytes the kernel copied,
 * pinned, copied later and copied on receive. Counters only: nothing goes to userspace per
 * packet. Every hook has its programs here; userspace autoloads one form per hook after
 * probing the running kernel, and both forms of a hook call the same counting helper.
 *
 * Kernel differences are handled with CO-RE (field/type existence checks); each one cites
 * the kernel version that changed it. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "copyscope_shared.h"

char LICENSE[] SEC("license") = "GPL";

#define MSG_ZEROCOPY 0x4000000 /* include/linux/socket.h, uapi value, stable since 4.14 */
#define CS_PAGE_SIZE 4096      /* x86-64; only used to count pages spanned by fragments */
#define CS_MAX_FRAGS 48        /* CONFIG_MAX_SKB_FRAGS is at most 45 (6.6+); 17 by default */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_MAX_NAMESPACES);
	__type(key, __u32); /* net->ns.inum */
	__type(value, struct cs_ns_entry);
} cs_ns_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_MAX_NAMESPACES);
	__type(key, __u32);
	__type(value, struct cs_counters);
} cs_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct cs_send_ctx);
} cs_send_ctx SEC(".maps");

/* ---- namespace filter ------------------------------------------------------------- */

/* All programs here are tracing programs (tp_btf, fentry, fexit): their arguments are BTF
 * pointers, so fields are read directly (a faulting read yields 0) rather than through
 * bpf_probe_read_kernel, which costs a helper call per field. Pointers computed by hand
 * (skb_shinfo, the notification skb) still go through BPF_CORE_READ. */
static __always_inline struct cs_counters *counters_for_net(const struct net *net)
{
	if (!net)
		return NULL;
	__u32 inum = net->ns.inum;
	struct cs_ns_entry *e = bpf_map_lookup_elem(&cs_ns_filter, &inum);
	if (!e)
		return NULL;
	return bpf_map_lookup_elem(&cs_counters, &e->slot);
}

static __always_inline struct cs_counters *counters_for_dev(const struct net_device *dev)
{
	if (!dev)
		return NULL;
	return counters_for_net(dev->nd_net.net);
}

/* The counters of a TCP socket in a watched namespace, given its fields (read directly or
 * probed by the caller); NULL when a shared namespace's socket filter leaves it out. */
static __always_inline struct cs_counters *counters_for_sock_fields(__u32 inum, __u16 num,
								    __u16 dport, __u32 daddr,
								    __u32 rcv_saddr)
{
	struct cs_ns_entry *e = bpf_map_lookup_elem(&cs_ns_filter, &inum);
	if (!e)
		return NULL;
	__u32 slot = e->slot;
	if (e->peer_port) {
		if (dport == bpf_htons(e->peer_port) && daddr == e->peer_addr)
			slot = e->slot;
		else if (num == e->peer_port && rcv_saddr == e->peer_addr)
			slot = e->peer_slot;
		else
			return NULL;
	}
	return bpf_map_lookup_elem(&cs_counters, &slot);
}

/* Lab TCP sockets only. sk_protocol was a bitfield before v5.6 (commit bf9765145b85
 * "sock: Make sk_protocol a 16-bit value"); the probed bitfield read handles both. */
static __always_inline struct cs_counters *counters_for_tcp_sock(const struct sock *sk)
{
	if (!sk)
		return NULL;
	const struct net *net = sk->__sk_common.skc_net.net;
	if (!net)
		return NULL;
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return counters_for_sock_fields(net->ns.inum, sk->__sk_common.skc_num,
					sk->__sk_common.skc_dport, sk->__sk_common.skc_daddr,
					sk->__sk_common.skc_rcv_saddr);
}

/* ---- skb helpers ------------------------------------------------------------------ */

/* skb_shinfo(): on 64-bit kernels skb->end is an offset from skb->head
 * (NET_SKBUFF_DATA_USES_OFFSET). */
static __always_inline struct skb_shared_info *shinfo_of(const struct sk_buff *skb)
{
	unsigned char *head = skb->head;
	__u64 end = skb->end;
	return (struct skb_shared_info *)(head + end);
}

/* MSG_ZEROCOPY skbs carry SKBFL_ZEROCOPY_ENABLE in shinfo->flags (v5.14+, commit
 * 06b4feb37e64 "net: group skb_shinfo zerocopy related bits together"; earlier kernels
 * used SKBTX_DEV_ZEROCOPY in tx_flags and are not supported). */
static __always_inline bool skb_is_zerocopy(const struct sk_buff *skb)
{
	struct skb_shared_info *sh = shinfo_of(skb);
	__u8 flags = BPF_CORE_READ(sh, flags);
	return flags & SKBFL_ZEROCOPY_ENABLE;
}

/* skb_frag_t was a typedef of struct bio_vec (bv_len, bv_offset) from v5.4 (commit
 * 8842d285bafa "net: Convert skb_frag_t to bio_vec") and became its own struct skb_frag
 * (len, offset; netmem since v6.10) later; 6.18 here has struct skb_frag. */
struct skb_frag___cs {
	unsigned int len;
	unsigned int offset;
} __attribute__((preserve_access_index));
struct bio_vec___cs {
	unsigned int bv_len;
	unsigned int bv_offset;
} __attribute__((preserve_access_index));

struct frag_sum {
	__u64 bytes;
	__u64 pages;
};

#define CS_FRAG_SCRATCH 1024 /* >= CS_MAX_FRAGS * sizeof(skb_frag_t) (16) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, char[CS_FRAG_SCRATCH]);
} cs_frag_scratch SEC(".maps");

/* Bytes in an skb's page fragments and the pages they span. The fragment array is copied
 * with one bpf_probe_read_kernel (a helper call per field would cost more than the rest of
 * the program), then parsed at CO-RE offsets. */
static __always_inline struct frag_sum skb_frags(const struct sk_buff *skb)
{
	struct frag_sum sum = {};
	struct skb_shared_info *sh = shinfo_of(skb);
	__u32 nr = BPF_CORE_READ(sh, nr_frags);
	__u32 zero = 0;
	char *buf = bpf_map_lookup_elem(&cs_frag_scratch, &zero);
	if (!buf || nr == 0)
		return sum;
	if (nr > CS_MAX_FRAGS)
		nr = CS_MAX_FRAGS;
	const __u32 stride = bpf_core_type_size(skb_frag_t);
	__u32 len_off, off_off;
	if (bpf_core_type_exists(struct skb_frag___cs)) {
		len_off = bpf_core_field_offset(struct skb_frag___cs, len);
		off_off = bpf_core_field_offset(struct skb_frag___cs, offset);
	} else {
		len_off = bpf_core_field_offset(struct bio_vec___cs, bv_len);
		off_off = bpf_core_field_offset(struct bio_vec___cs, bv_offset);
	}
	__u64 size = (__u64)nr * stride; /* 64-bit: the clamp below bounds the register the call uses */
	if (size > CS_FRAG_SCRATCH)
		size = CS_FRAG_SCRATCH;
	const char *frags = (const char *)sh + bpf_core_field_offset(struct skb_shared_info, frags);
	if (bpf_probe_read_kernel(buf, size, frags))
		return sum;
	for (__u32 i = 0; i < CS_MAX_FRAGS; i++) {
		if (i >= nr)
			break;
		__u32 at_len = i * stride + len_off, at_off = i * stride + off_off;
		if (at_len > CS_FRAG_SCRATCH - 4 || at_off > CS_FRAG_SCRATCH - 4)
			break;
		__u32 len = *(__u32 *)(buf + at_len);
		__u32 off = *(__u32 *)(buf + at_off);
		sum.bytes += len;
		if (len)
			sum.pages += ((off & (CS_PAGE_SIZE - 1)) + len + CS_PAGE_SIZE - 1) / CS_PAGE_SIZE;
	}
	return sum;
}

/* ---- send: one helper, two forms ------------------------------------------------------ */

/* msghdr->msg_ubuf (caller-supplied ubuf_info) exists since v6.0 (commit 7c701d92b2b5
 * "skbuff: carry external ubuf_info in msghdr"). */
struct msghdr___cs {
	struct ubuf_info *msg_ubuf;
} __attribute__((preserve_access_index));

static __always_inline __u32 msg_has_ubuf(const struct msghdr *msg)
{
	if (!bpf_core_field_exists(((struct msghdr___cs *)0)->msg_ubuf))
		return 0;
	return ((struct msghdr___cs *)msg)->msg_ubuf != NULL;
}

/* Attributes ret accepted bytes of one sendmsg the way tcp_sendmsg_locked decides:
 * zerocopy iff MSG_ZEROCOPY and (msg_ubuf or SOCK_ZEROCOPY) and the route has NETIF_F_SG;
 * otherwise the bytes go through skb_copy_to_page_nocache (a copy). */
static __always_inline void count_send(const struct sock *sk, __u32 msg_flags, __u32 has_ubuf,
				       int ret)
{
	if (ret <= 0)
		return;
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return;
	c->v[CS_SEND_CALLS] += 1;
	c->v[CS_SEND_BYTES] += ret;
	if (!(msg_flags & MSG_ZEROCOPY)) {
		c->v[CS_SEND_COPY_BYTES] += ret;
		return;
	}
	c->v[CS_ZC_SEND_CALLS] += 1;
	unsigned long sk_flags = sk->__sk_common.skc_flags;
	__u64 route_caps = sk->sk_route_caps;
	bool sock_zc = sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_ZEROCOPY));
	bool sg = route_caps & (1ULL << NETIF_F_SG_BIT);
	if ((has_ubuf || sock_zc) && sg)
		c->v[CS_ZC_PINNED_BYTES] += ret;
	else
		c->v[CS_ZC_FALLBACK_BYTES] += ret;
}

/* Preferred: one program sees the msghdr and the return value together. */
SEC("fexit/tcp_sendmsg_locked")
int BPF_PROG(cs_send_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	count_send(sk, msg->msg_flags, msg_has_ubuf(msg), ret);
	return 0;
}

/* Fallback (6.16+ tracepoint): the tracepoint fires inside the send loop with the msghdr;
 * sock_send_length fires after it with the return value. The task id joins them. */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(cs_send_tp_msg, const struct sock *sk, const struct msghdr *msg,
	     const struct sk_buff *skb, int size_goal)
{
	if (!counters_for_tcp_sock(sk))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_send_ctx seen = {
		.sk = (__u64)sk,
		.msg_flags = msg->msg_flags,
		.has_ubuf = msg_has_ubuf(msg),
	};
	bpf_map_update_elem(&cs_send_ctx, &id, &seen, BPF_ANY);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(cs_send_tp_ret, struct sock *sk, int ret, int flags)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_send_ctx *seen = bpf_map_lookup_elem(&cs_send_ctx, &id);
	if (seen && seen->sk == (__u64)sk) {
		struct cs_send_ctx what = *seen;
		bpf_map_delete_elem(&cs_send_ctx, &id);
		count_send(sk, what.msg_flags, what.has_ubuf, ret);
		return 0;
	}
	if (ret <= 0)
		return 0;
	/* A lab TCP send whose loop we did not see (e.g. TCP Fast Open data): say so. */
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (c)
		c->v[CS_SEND_UNCLASSIFIED_BYTES] += ret;
	return 0;
}

/* ---- zerocopy skbs leaving and entering namespaces -------------------------------------- */

SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(cs_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	struct cs_counters *c = counters_for_dev(dev);
	if (!c || !skb_is_zerocopy(skb))
		return 0;
	if (skb->sk) {
		struct frag_sum f = skb_frags(skb);
		c->v[CS_XMIT_ZC_SKBS] += 1;
		c->v[CS_XMIT_ZC_BYTES] += f.bytes;
		c->v[CS_XMIT_ZC_PAGES] += f.pages;
	} else {
		/* A forwarded skb has been scrubbed of its socket. Its paged bytes: a TCP
		 * zerocopy skb has no frag_list, so data_len is its fragments. */
		c->v[CS_FWD_ZC_BYTES] += skb->data_len;
	}
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(cs_rx, struct sk_buff *skb)
{
	struct cs_counters *c = counters_for_dev(skb->dev);
	if (!c || !skb_is_zerocopy(skb))
		return 0;
	c->v[CS_RX_ZC_SKBS] += 1;
	c->v[CS_RX_ZC_BYTES] += skb->data_len; /* as skb_copy_ubufs would copy: the fragments */
	return 0;
}

/* ---- deferred copy ------------------------------------------------------------------ */

/* skb_copy_ubufs replaces every page fragment with a kernel copy; on success the new
 * fragments hold exactly the bytes it copied. The copy is charged to the namespace of the
 * device the skb is on (where it was received), else of its socket. */
SEC("fexit/skb_copy_ubufs")
int BPF_PROG(cs_deferred_fexit, struct sk_buff *skb, gfp_t gfp_mask, int ret)
{
	if (ret != 0)
		return 0;
	struct cs_counters *c = counters_for_dev(skb->dev);
	if (!c) {
		struct sock *sk = skb->sk;
		if (sk)
			c = counters_for_net(sk->__sk_common.skc_net.net);
	}
	if (!c)
		return 0;
	c->v[CS_DEFERRED_CALLS] += 1;
	c->v[CS_DEFERRED_BYTES] += skb_frags(skb).bytes;
	return 0;
}

/* ---- receive copy --------------------------------------------------------------------- */

/* Fires in skb_copy_datagram_iter, the copy from an skb into the receiver's iovec. TCP
 * receive-queue skbs are owned by their socket (skb_set_owner_r). */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(cs_recv, const struct sk_buff *skb, int len)
{
	if (len <= 0)
		return 0;
	struct cs_counters *c = counters_for_tcp_sock(skb->sk);
	if (!c)
		return 0;
	c->v[CS_RECV_CALLS] += 1;
	c->v[CS_RECV_BYTES] += len;
	return 0;
}

/* ---- retransmits -------------------------------------------------------------------- */

/* skb is the write-queue skb being sent again: its len is payload (headers go on the
 * clone). Only the first two arguments are read: 6.12+ added an err argument. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(cs_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return 0;
	c->v[CS_RETRANS_SEGS] += 1;
	c->v[CS_RETRANS_BYTES] += skb->len;
	return 0;
}

/* ---- zerocopy completions (preferred form only) ----------------------------------------- */

/* msg_zerocopy_complete (v6.10+, renamed from msg_zerocopy_callback by commit 7ab4f16f9e2d
 * "net: extend ubuf_info callback to ops structure"; userspace retargets this program to
 * the old name on older kernels; same arguments). The notification is queued when the last
 * reference goes: count the sends it covers then, and those flagged copied
 * (zerocopy bit cleared, or this completion reports a copy). The ubuf_info lives in the
 * cb of the notification skb, whose owner is the sending socket. */
SEC("fentry/msg_zerocopy_complete")
int BPF_PROG(cs_zc_complete, struct sk_buff *skb, struct ubuf_info *uarg, bool success)
{
	if (uarg->refcnt.refs.counter != 1)
		return 0;
	struct sk_buff *notify = (struct sk_buff *)((char *)uarg -
						    bpf_core_field_offset(struct sk_buff, cb));
	/* notify->sk comes from a probed read: a plain scalar to the verifier, so the socket's
	 * fields are probed too (a direct read is rejected: "invalid mem access 'scalar'"). */
	struct sock *sk = BPF_CORE_READ(notify, sk);
	if (!sk)
		return 0;
	if (BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	struct cs_counters *c = counters_for_sock_fields(
		BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum), BPF_CORE_READ(sk, __sk_common.skc_num),
		BPF_CORE_READ(sk, __sk_common.skc_dport), BPF_CORE_READ(sk, __sk_common.skc_daddr),
		BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
	if (!c)
		return 0;
	struct ubuf_info_msgzc *zc = (struct ubuf_info_msgzc *)uarg; /* ubuf is its first member */
	__u64 len = BPF_CORE_READ(zc, len);
	__u64 zerocopy = BPF_CORE_READ_BITFIELD_PROBED(zc, zerocopy);
	c->v[CS_ZC_COMPLETED_SENDS] += len;
	if (!(zerocopy && success))
		c->v[CS_ZC_COMPLETED_COPIED] += len;
	return 0;
}

#include "udp_zcrx.bpf.h"
