/* SPDX-License-Identifier: GPL-2.0 */
/* Every place the kernel copies the user pages of a MSG_ZEROCOPY skb, counted where the
 * copy happens (fentry/fexit: the exact forms; kernels without fentry see them from
 * tracepoints, in copyscope.bpf.c's cs_xmit and cs_rx). Included by copyscope.bpf.c.
 *
 *   skb_copy_ubufs()    every page fragment replaced by a kernel copy; the uarg completes
 *                       COPIED. Reached through skb_orphan_frags_rx() from the receive path
 *                       (ip_local_deliver_finish/ip6_input_finish since 6.17, the end of
 *                       __netif_receive_skb_core before), deliver_skb() (receive taps),
 *                       dev_queue_xmit_nit() (a transmit tap's clone), tun_net_xmit() and
 *                       __skb_tstamp_tx() (a TX timestamp's clone).
 *   skb_segment()       without NETIF_F_SG every segment is a fresh linear copy, and no
 *                       uarg goes with it: not reported COPIED.
 *   __pskb_pull_tail()  pulls paged bytes into the head (skb_linearize, validate_xmit_skb
 *                       without SG, skb_checksum_help); COPIED once no fragment is left.
 *   skb_copy(_expand)() a whole new linear skb; the source keeps its pages and uarg.
 *
 * skb_orphan_frags() (without _rx) never copies a MSG_ZEROCOPY skb: its uarg carries
 * SKBFL_DONT_ORPHAN (msg_zerocopy_alloc). */

enum cs_copy_site {
	CS_SITE_RECEIVE = 0,
	CS_SITE_TAP_TX,
	CS_SITE_TAP_RX,
	CS_SITE_TUN,
	CS_SITE_TSTAMP,
};

/* What fentry saw of the skb fexit will count (one per CPU: these functions do not nest on
 * a CPU; a softirq that interrupts one in process context and runs the same function costs
 * the outer call its count, never a wrong one: fexit checks the skb). */
struct cs_pending {
	__u64 skb;
	__u32 slot;
	__u32 site;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3); /* 0: skb_copy_ubufs, 1: __pskb_pull_tail, 2: TX timestamp marker */
	__type(key, __u32);
	__type(value, struct cs_pending);
} cs_pending SEC(".maps");

#define CS_PENDING_UBUFS 0
#define CS_PENDING_PULL 1
#define CS_PENDING_TSTAMP 2

static __always_inline struct cs_pending *pending(__u32 which)
{
	return bpf_map_lookup_elem(&cs_pending, &which);
}

/* The slot a copy of a zerocopy skb is charged to: the namespace of the device it is on
 * (where it was received or is being sent), scoped to the run's flows where the namespace is
 * shared; with no device, the namespace of its sending socket. -1: not ours. */
static __always_inline __s64 slot_for_zc_skb(const struct sk_buff *skb)
{
	struct cs_ns_entry *e = ns_entry_of_dev(skb->dev);
	if (e) {
		if (e->peer_port && !skb_of_our_flows(skb))
			return -1;
		return e->slot;
	}
	struct ubuf_info_msgzc *uarg = skb_msgzc(skb);
	const struct sock *sk = uarg ? msgzc_sock(uarg) : BPF_CORE_READ(skb, sk);
	if (!sk)
		return -1;
	__u32 inum = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	e = bpf_map_lookup_elem(&cs_ns_filter, &inum);
	if (!e || (e->peer_port && !counters_for_sock_probed(sk)))
		return -1;
	return e->slot;
}

/* ---- skb_copy_ubufs, by caller ----------------------------------------------------------- */

/* Which caller: a transmit tap's clone is PACKET_OUTGOING (dev_queue_xmit_nit sets it
 * before skb_orphan_frags_rx); a TX timestamp's clone runs inside __skb_tstamp_tx (marker);
 * tun_net_xmit runs on a tun device; on the receive path a listening tap copies first
 * (deliver_skb), else the receive path itself. */
static __always_inline __u32 copy_site(const struct sk_buff *skb)
{
	if (BPF_CORE_READ_BITFIELD(skb, pkt_type) == CS_PACKET_OUTGOING)
		return CS_SITE_TAP_TX;
	struct cs_pending *t = pending(CS_PENDING_TSTAMP);
	if (t && t->skb)
		return CS_SITE_TSTAMP;
	const struct net_device *dev = skb->dev;
	if (dev && dev_is_tun(dev))
		return CS_SITE_TUN;
	if (dev && tap_active(dev))
		return CS_SITE_TAP_RX;
	return CS_SITE_RECEIVE;
}

/* At entry the skb still carries its uarg (callers test skb_zcopy() first): resolve the
 * flow and the site there; at exit the uarg may be gone with its last reference. */
SEC("fentry/skb_copy_ubufs")
int BPF_PROG(cs_copy_ubufs_entry, struct sk_buff *skb, gfp_t gfp_mask)
{
	struct cs_pending *p = pending(CS_PENDING_UBUFS);
	if (!p)
		return 0;
	p->skb = 0;
	__s64 slot = slot_for_zc_skb(skb);
	if (slot < 0)
		return 0;
	p->slot = slot;
	p->site = copy_site(skb);
	p->skb = (__u64)skb;
	return 0;
}

/* On success the new fragments hold exactly the bytes copied. */
SEC("fexit/skb_copy_ubufs")
int BPF_PROG(cs_deferred_fexit, struct sk_buff *skb, gfp_t gfp_mask, int ret)
{
	struct cs_pending *p = pending(CS_PENDING_UBUFS);
	if (!p || p->skb != (__u64)skb)
		return 0;
	p->skb = 0;
	struct cs_counters *c = counters_of_slot(p->slot);
	if (ret != 0 || !c)
		return 0;
	__u64 bytes = skb_frags(skb).bytes;
	c->v[CS_DEFERRED_CALLS] += 1;
	c->v[CS_DEFERRED_BYTES] += bytes;
	switch (p->site) {
	case CS_SITE_TAP_TX:
		c->v[CS_TAP_TX_COPY_BYTES] += bytes;
		break;
	case CS_SITE_TAP_RX:
		c->v[CS_TAP_RX_COPY_BYTES] += bytes;
		break;
	case CS_SITE_TUN:
		c->v[CS_TUN_COPY_BYTES] += bytes;
		break;
	case CS_SITE_TSTAMP:
		c->v[CS_TSTAMP_COPY_BYTES] += bytes;
		break;
	}
	return 0;
}

/* The marker for skb_copy_ubufs calls made inside __skb_tstamp_tx. */
SEC("fentry/__skb_tstamp_tx")
int BPF_PROG(cs_tstamp_entry)
{
	struct cs_pending *t = pending(CS_PENDING_TSTAMP);
	if (t)
		t->skb = 1;
	return 0;
}

SEC("fexit/__skb_tstamp_tx")
int BPF_PROG(cs_tstamp_exit)
{
	struct cs_pending *t = pending(CS_PENDING_TSTAMP);
	if (t)
		t->skb = 0;
	return 0;
}

/* ---- copies that do not go through skb_copy_ubufs --------------------------------------- */

/* Software segmentation without scatter-gather: each segment a linear copy of the head
 * skb's payload, which for a TCP zerocopy skb is all in its fragments (tcp_gso_segment has
 * pulled the headers). The head keeps its flag and uarg (its skb_orphan_frags is a no-op). */
SEC("fexit/skb_segment")
int BPF_PROG(cs_segment_exit, struct sk_buff *head_skb, netdev_features_t features,
	     struct sk_buff *ret)
{
	if (!ret || (__u64)ret >= (__u64)-4095 || (features & (1ULL << NETIF_F_SG_BIT)))
		return 0;
	if (!skb_is_zerocopy(head_skb))
		return 0;
	__s64 slot = slot_for_zc_skb(head_skb);
	struct cs_counters *c = slot < 0 ? NULL : counters_of_slot(slot);
	if (c)
		c->v[CS_GSO_NOSG_COPY_BYTES] += head_skb->data_len;
	return 0;
}

/* __pskb_pull_tail(skb, delta) copies delta paged bytes into the head; the flag is gone at
 * exit when no fragment is left, so zerocopy is read at entry. */
SEC("fentry/__pskb_pull_tail")
int BPF_PROG(cs_pull_entry, struct sk_buff *skb, int delta)
{
	struct cs_pending *p = pending(CS_PENDING_PULL);
	if (!p)
		return 0;
	p->skb = 0;
	if (delta <= 0 || !skb_is_zerocopy(skb))
		return 0;
	__s64 slot = slot_for_zc_skb(skb);
	if (slot < 0)
		return 0;
	p->slot = slot;
	p->skb = (__u64)skb;
	return 0;
}

SEC("fexit/__pskb_pull_tail")
int BPF_PROG(cs_pull_exit, struct sk_buff *skb, int delta, void *ret)
{
	struct cs_pending *p = pending(CS_PENDING_PULL);
	if (!p || p->skb != (__u64)skb)
		return 0;
	p->skb = 0;
	struct cs_counters *c = counters_of_slot(p->slot);
	if (ret && c)
		c->v[CS_LINEARIZE_COPY_BYTES] += delta;
	return 0;
}

static __always_inline void count_skb_copy(const struct sk_buff *skb, const void *ret)
{
	if (!ret || !skb_is_zerocopy(skb))
		return;
	__s64 slot = slot_for_zc_skb(skb);
	struct cs_counters *c = slot < 0 ? NULL : counters_of_slot(slot);
	if (c)
		c->v[CS_SKB_COPY_BYTES] += skb->data_len;
}

SEC("fexit/skb_copy")
int BPF_PROG(cs_skb_copy_exit, const struct sk_buff *skb, gfp_t gfp, struct sk_buff *ret)
{
	count_skb_copy(skb, ret);
	return 0;
}

SEC("fexit/skb_copy_expand")
int BPF_PROG(cs_skb_copy_expand_exit, const struct sk_buff *skb, int headroom, int tailroom,
	     gfp_t gfp, struct sk_buff *ret)
{
	count_skb_copy(skb, ret);
	return 0;
}
