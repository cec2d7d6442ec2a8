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

/* With --hooks both, the tracepoint form of the send hook counts here (same slots), so the
 * exact and the tracepoint forms are compared on the same traffic. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_MAX_NAMESPACES);
	__type(key, __u32);
	__type(value, struct cs_counters);
} cs_counters_tp SEC(".maps");

const volatile bool cs_both_forms = false;

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

/* The slot of a TCP socket in a watched namespace, given its fields (read directly or
 * probed by the caller); -1 when not watched or a shared namespace's socket filter leaves
 * it out. */
static __always_inline __s64 slot_for_sock_fields(__u32 inum, __u16 num, __u16 dport,
						  __u32 daddr, __u32 rcv_saddr)
{
	struct cs_ns_entry *e = bpf_map_lookup_elem(&cs_ns_filter, &inum);
	if (!e)
		return -1;
	if (!e->peer_port)
		return e->slot;
	if (dport == bpf_htons(e->peer_port) && daddr == e->peer_addr)
		return e->slot;
	if (num == e->peer_port && rcv_saddr == e->peer_addr)
		return e->peer_slot;
	return -1;
}

static __always_inline struct cs_counters *counters_for_sock_fields(__u32 inum, __u16 num,
								    __u16 dport, __u32 daddr,
								    __u32 rcv_saddr)
{
	__s64 slot = slot_for_sock_fields(inum, num, dport, daddr, rcv_saddr);
	if (slot < 0)
		return NULL;
	__u32 key = slot;
	return bpf_map_lookup_elem(&cs_counters, &key);
}

#include "sockets.bpf.h"

/* Lab TCP sockets only. sk_protocol was a bitfield before v5.6 (commit bf9765145b85
 * "sock: Make sk_protocol a 16-bit value"); the probed bitfield read handles both. */
static __always_inline __s64 slot_for_tcp_sock(const struct sock *sk)
{
	if (!sk)
		return -1;
	const struct net *net = sk->__sk_common.skc_net.net;
	if (!net)
		return -1;
	if (BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return -1;
	return slot_for_sock_fields(net->ns.inum, sk->__sk_common.skc_num,
				    sk->__sk_common.skc_dport, sk->__sk_common.skc_daddr,
				    sk->__sk_common.skc_rcv_saddr);
}

static __always_inline struct cs_counters *counters_for_tcp_sock(const struct sock *sk)
{
	if (cs_tracing) /* copyscope trace: the socket's own counters, if in scope */
		return cs_trace_counters_tcp(sk);
	__s64 slot = slot_for_tcp_sock(sk);
	if (slot < 0)
		return NULL;
	__u32 key = slot;
	return bpf_map_lookup_elem(&cs_counters, &key);
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

#include "flows.bpf.h"
#include "sockets_events.bpf.h"

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

#include "splice_uring.bpf.h" /* sendfile and io_uring: count_splice, msg_send_bits, ... */

#define CS_ENOBUFS 105

struct netns_core___cs {
	int sysctl_optmem_max;
} __attribute__((preserve_access_index));
struct net___cs {
	struct netns_core___cs core;
} __attribute__((preserve_access_index));

/* net.core.optmem_max became per namespace between 6.1 and 6.12; before, one global. */
extern const void sysctl_optmem_max __ksym __weak;

/* tcp_sendmsg_locked's ENOBUFS: msg_zerocopy_realloc failed, for option memory
 * (sock_omalloc: sk_omem_alloc + SKB_TRUESIZE(0) > optmem_max) or the locked-memory limit
 * (mm_account_pinned_pages; never for CAP_IPC_LOCK). Read after the fact: completions may
 * have freed option memory since, which then reads as "other". */
static __always_inline void count_enobufs(const struct sock *sk, struct cs_counters *c)
{
	int omem = BPF_CORE_READ(sk, sk_omem_alloc.counter);
	int max = 0;
	if (bpf_core_field_exists(struct netns_core___cs, sysctl_optmem_max)) {
		const struct net___cs *net = (const void *)BPF_CORE_READ(sk, __sk_common.skc_net.net);
		max = BPF_CORE_READ(net, core.sysctl_optmem_max);
	} else if (&sysctl_optmem_max) {
		bpf_probe_read_kernel(&max, sizeof max, &sysctl_optmem_max);
	}
	const int truesize = ((bpf_core_type_size(struct sk_buff) + 63) & ~63) +
			     ((bpf_core_type_size(struct skb_shared_info) + 63) & ~63);
	if (max > 0 && omem + truesize > max)
		c->v[CS_ZC_ENOBUFS_OPTMEM] += 1;
	else
		c->v[CS_ZC_ENOBUFS_OTHER] += 1;
}

/* The counters of the send hook: its tracepoint form's own map with --hooks both. */
static __always_inline struct cs_counters *send_counters(const struct sock *sk, bool tp_form)
{
	/* copyscope trace: the socket's own counters, if in scope; one form counts there (both
	 * forms load when the pinned pages take the tracepoint form beside an exact send). */
	if (cs_tracing)
		return tp_form && cs_both_forms ? NULL : cs_trace_counters_tcp(sk);
	__s64 slot = slot_for_tcp_sock(sk);
	if (slot < 0)
		return NULL;
	__u32 key = slot;
	return bpf_map_lookup_elem(tp_form && cs_both_forms ? (void *)&cs_counters_tp
							    : (void *)&cs_counters,
				   &key);
}

#define MSG_SPLICE_PAGES 0x8000000 /* include/linux/socket.h, internal, 6.5+ */

/* Where a MSG_ZEROCOPY send's bytes go, by tcp_sendmsg_locked's decision: by reference to
 * pinned pages (registered buffers apart) iff msg_ubuf or SOCK_ZEROCOPY, and the route has
 * NETIF_F_SG; copied without SO_ZEROCOPY (no notification), or as a fallback without SG. */
static __always_inline __u32 zc_send_slot(const struct sock *sk, __u32 has_ubuf)
{
	unsigned long sk_flags = sk->__sk_common.skc_flags;
	__u64 route_caps = sk->sk_route_caps;
	bool sock_zc = sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_ZEROCOPY));
	bool sg = route_caps & (1ULL << NETIF_F_SG_BIT);
	if (((has_ubuf & CS_MSG_UBUF) || sock_zc) && sg)
		return zerocopy_slot(has_ubuf);
	if (!(has_ubuf & CS_MSG_UBUF) && !sock_zc)
		return CS_ZC_NO_SOCKOPT_BYTES;
	return CS_ZC_FALLBACK_BYTES;
}

/* Attributes ret accepted bytes of one sendmsg the way tcp_sendmsg_locked decides:
 * zerocopy iff MSG_ZEROCOPY and (msg_ubuf or SOCK_ZEROCOPY) and the route has NETIF_F_SG;
 * else spliced by reference iff MSG_SPLICE_PAGES (sendfile, splice: 6.5+) and NETIF_F_SG;
 * otherwise the bytes go through skb_copy_to_page_nocache (a copy). Without SOCK_ZEROCOPY
 * the kernel takes neither branch: a plain send, no error and no notification. */
static __always_inline bool count_send(const struct sock *sk, __u32 msg_flags, __u32 has_ubuf,
				       int ret, struct cs_counters *c) /* has_ubuf: CS_MSG_* bits */
{
	if (!c)
		return false;
	if (ret == -CS_ENOBUFS && (msg_flags & MSG_ZEROCOPY)) {
		count_enobufs(sk, c);
		return false;
	}
	if (ret <= 0)
		return false;
	c->v[CS_SEND_CALLS] += 1;
	c->v[CS_SEND_BYTES] += ret;
	if (!(msg_flags & MSG_ZEROCOPY)) {
		if (!count_splice(c, sk, msg_flags, ret)) /* sendfile's spliced pages apart */
			c->v[CS_SEND_COPY_BYTES] += ret;
		return false;
	}
	c->v[CS_ZC_SEND_CALLS] += 1;
	__u32 slot = zc_send_slot(sk, has_ubuf);
	c->v[slot] += ret;
	return slot == CS_ZC_PINNED_BYTES; /* pages pinned by this send */
}

/* Preferred: one program sees the msghdr and the return value together. */
SEC("fexit/tcp_sendmsg_locked")
int BPF_PROG(cs_send_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	cs_trace_claim(sk);
	count_send(sk, msg->msg_flags, msg_send_bits(msg), ret, send_counters(sk, false));
	return 0;
}

#include "pinning.bpf.h"

/* Fallback (6.16+ tracepoint): the tracepoint fires inside the send loop with the msghdr,
 * once per loop iteration; sock_send_length fires after it with the return value. The task
 * id joins them; the iterator is kept from the syscall's first fire. */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(cs_send_tp_msg, const struct sock *sk, const struct msghdr *msg,
	     const struct sk_buff *skb, int size_goal)
{
	cs_trace_claim(sk);
	if (!counters_for_tcp_sock(sk))
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_send_ctx *old = bpf_map_lookup_elem(&cs_send_ctx, &id);
	if (old && old->sk == (__u64)sk)
		return 0; /* a later iteration of the same sendmsg */
	struct cs_send_ctx seen = {
		.sk = (__u64)sk,
		.msg_flags = msg->msg_flags,
		.has_ubuf = msg_send_bits(msg),
	};
	if (seen.msg_flags & MSG_ZEROCOPY)
		snapshot_iter(msg, &seen);
	bpf_map_update_elem(&cs_send_ctx, &id, &seen, BPF_ANY);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(cs_send_tp_ret, struct sock *sk, int ret, int flags)
{
	cs_trace_claim(sk);
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_send_ctx *seen = bpf_map_lookup_elem(&cs_send_ctx, &id);
	if (seen && seen->sk == (__u64)sk) {
		struct cs_send_ctx what = *seen;
		bpf_map_delete_elem(&cs_send_ctx, &id);
		/* Traced beside the exact send form, this form counts only the pages. */
		struct cs_counters *sc = send_counters(sk, true);
		bool pinned = sc ? count_send(sk, what.msg_flags, what.has_ubuf, ret, sc)
				 : cs_tracing && ret > 0 && (what.msg_flags & MSG_ZEROCOPY) &&
					   zc_send_slot(sk, what.has_ubuf) == CS_ZC_PINNED_BYTES;
		if (pinned) {
			/* The pages of the bytes this send pinned, always in the main counters. */
			struct cs_counters *c = counters_for_tcp_sock(sk);
			if (c)
				count_iter_pages(&what, ret, c);
		}
		return 0;
	}
	struct cs_counters *c = send_counters(sk, true);
	if (!c)
		return 0;
	/* ENOBUFS fails before the send loop, so its tracepoint never fired: only MSG_ZEROCOPY
	 * returns it from tcp_sendmsg_locked (msg_zerocopy_realloc). */
	if (ret == -CS_ENOBUFS) {
		count_enobufs(sk, c);
		return 0;
	}
	/* A lab TCP send whose loop we did not see (e.g. TCP Fast Open data): say so. */
	if (ret > 0)
		c->v[CS_SEND_UNCLASSIFIED_BYTES] += ret;
	return 0;
}

/* ---- zerocopy skbs leaving and entering namespaces -------------------------------------- */

/* The payload of an skb leaving unflagged from a SO_ZEROCOPY socket through a device
 * without scatter-gather: validate_xmit_skb copied its user pages before this tracepoint
 * (software segmentation, or linearization of a single segment). That they left as copies is
 * seen; which of the two made them is not. */
static __always_inline void count_nosg(const struct sk_buff *skb)
{
	const struct sock *sk = skb->sk;
	if (!sk)
		return;
	unsigned long sk_flags = sk->__sk_common.skc_flags;
	if (!(sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_ZEROCOPY))))
		return;
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return;
	unsigned char *head = skb->head, *data = skb->data;
	__u16 th = skb->transport_header;
	__u8 doff = 0;
	if (bpf_probe_read_kernel(&doff, 1, head + th + 12))
		return;
	__s64 headers = (head + th - data) + (doff >> 4) * 4;
	if (headers < 0 || skb->len <= headers)
		return;
	c->v[CS_XMIT_NOSG_BYTES] += skb->len - headers;
}

/* Zerocopy skbs leaving a watched namespace's device: from a local socket (their pages and
 * bytes), or forwarded (scrubbed of their socket). A listening packet tap gets a copy of a
 * clone (dev_queue_xmit_nit runs just before this tracepoint); a tun device copies in its
 * ndo_start_xmit, just after. */
SEC("tp_btf/net_dev_start_xmit")
int BPF_PROG(cs_xmit, const struct sk_buff *skb, const struct net_device *dev)
{
	if (cs_tracing) {
		cs_trace_xmit(skb, dev);
		return 0;
	}
	struct cs_ns_entry *e = ns_entry_of_dev(dev);
	if (!e)
		return 0;
	if (!skb_is_zerocopy(skb)) {
		if (!dev_has_sg(dev))
			count_nosg(skb);
		return 0;
	}
	if (e->peer_port && !skb_of_our_flows(skb))
		return 0;
	struct cs_counters *c = counters_of_slot(e->slot);
	if (!c)
		return 0;
	__u64 bytes;
	if (skb->sk) {
		struct frag_sum f = skb_frags(skb);
		c->v[CS_XMIT_ZC_SKBS] += 1;
		c->v[CS_XMIT_ZC_BYTES] += f.bytes;
		c->v[CS_XMIT_ZC_PAGES] += f.pages;
		bytes = f.bytes;
	} else {
		/* A forwarded skb: a TCP zerocopy skb has no frag_list, so data_len is its
		 * fragments. It leaves this namespace, so it is no longer an arrival here. */
		bytes = skb->data_len;
		c->v[CS_FWD_ZC_BYTES] += bytes;
		__u64 key = (__u64)skb;
		bpf_map_delete_elem(&cs_arrivals, &key);
	}
	if (tap_active(dev))
		c->v[CS_XMIT_ZC_TAP_BYTES] += bytes;
	if (dev_is_tun(dev))
		c->v[CS_XMIT_ZC_TUN_BYTES] += bytes;
	return 0;
}

/* Zerocopy skbs received in a watched namespace (the top of __netif_receive_skb_core, before
 * any tap or protocol handler), recorded for delivery.bpf.h. */
SEC("tp_btf/netif_receive_skb")
int BPF_PROG(cs_rx, struct sk_buff *skb)
{
	if (cs_tracing) {
		cs_trace_rx(skb);
		return 0;
	}
	/* The flag first: most skbs are not zerocopy, and it is cheaper than the namespace. */
	if (!skb_is_zerocopy(skb))
		return 0;
	struct cs_ns_entry *e = ns_entry_of_dev(skb->dev);
	if (!e)
		return 0;
	if (e->peer_port && !skb_of_our_flows(skb))
		return 0;
	struct cs_counters *c = counters_of_slot(e->slot);
	if (!c)
		return 0;
	__u32 bytes = skb->data_len; /* as skb_copy_ubufs would copy: the fragments */
	c->v[CS_RX_ZC_SKBS] += 1;
	c->v[CS_RX_ZC_BYTES] += bytes;
	if (tap_active(skb->dev))
		c->v[CS_RX_ZC_TAP_BYTES] += bytes;
	__u64 key = (__u64)skb;
	struct cs_arrival a = {.slot = e->slot, .bytes = bytes};
	bpf_map_update_elem(&cs_arrivals, &key, &a, BPF_ANY);
	return 0;
}

#include "copy_sites.bpf.h"
#include "delivery.bpf.h"

/* ---- receive copy --------------------------------------------------------------------- */

/* Fires in skb_copy_datagram_iter, the copy from an skb into the receiver's iovec. TCP
 * receive-queue skbs are owned by their socket (skb_set_owner_r). */
SEC("tp_btf/skb_copy_datagram_iovec")
int BPF_PROG(cs_recv, const struct sk_buff *skb, int len)
{
	if (len <= 0)
		return 0;
	if (cs_tracing) { /* copyscope trace: skb->sk is not the program's own argument */
		cs_trace_recv(skb, len);
		return 0;
	}
	struct cs_counters *c = counters_for_tcp_sock(skb->sk);
	if (!c)
		return 0;
	c->v[CS_RECV_CALLS] += 1;
	c->v[CS_RECV_BYTES] += len;
	/* Still flagged here: the receiver copies from the sender's own pages, which no
	 * deferred copy replaced (skb_copy_ubufs ends in skb_zcopy_clear). */
	if (skb_is_zerocopy(skb))
		c->v[CS_RECV_ZC_FLAGGED_BYTES] += len;
	return 0;
}

/* ---- retransmits -------------------------------------------------------------------- */

/* Since 6.17 (commit ad892e912b84 "tcp: trace retransmit failures in tcp_retransmit_skb")
 * the tracepoint fires for every attempt, with its err as a third argument; that commit
 * also gave the event its own struct, whose err field tells CO-RE the argument exists.
 * Before, it fired only for retransmits that went out. */
struct trace_event_raw_tcp_retransmit_skb___cs {
	int err;
} __attribute__((preserve_access_index));

/* skb is the write-queue skb being sent again: its len is payload (headers go on the
 * clone). */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(cs_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return 0;
	int err = 0;
	if (bpf_core_field_exists(struct trace_event_raw_tcp_retransmit_skb___cs, err))
		err = (int)ctx[2];
	if (err) {
		c->v[CS_RETRANS_FAILED] += 1;
		return 0;
	}
	c->v[CS_RETRANS_SEGS] += 1;
	c->v[CS_RETRANS_BYTES] += skb->len;
	return 0;
}

#include "udp_zcrx.bpf.h"
#include "uring_notif.bpf.h"
