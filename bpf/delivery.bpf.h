/* SPDX-License-Identifier: GPL-2.0 */
/* The deferred copy observed from tracepoints: a zerocopy skb received in a watched
 * namespace (netif_receive_skb, where cs_rx records it in cs_arrivals) is followed to TCP
 * (tcp_probe, fired at the top of tcp_rcv_established for every segment, backlog ones
 * included) or to a drop (kfree_skb). skb_copy_ubufs always ends in skb_zcopy_clear, so a
 * segment that reaches TCP without SKBFL_ZEROCOPY_ENABLE was copied on the way; one still
 * flagged carries user pages to the receiver. TCP's rcv_nxt tells bytes it had received
 * before: retransmitted segments, copied a second time. Included by copyscope.bpf.c. */

#define CS_TCPHDR_FIN 0x01
#define CS_TCPHDR_SYN 0x02

static __always_inline bool seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(cs_delivery, struct sock *sk, const struct sk_buff *skb)
{
	/* The arrival first: one lookup by pointer ends the program for every segment that did
	 * not arrive zerocopy (all of them in copying cells), before the socket is resolved. */
	__u64 key = (__u64)skb;
	if (!bpf_map_lookup_elem(&cs_arrivals, &key))
		return 0;
	bpf_map_delete_elem(&cs_arrivals, &key);
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return 0;
	const struct tcp_skb_cb *cb = (const void *)skb->cb;
	__u32 seq = BPF_CORE_READ(cb, seq), end = BPF_CORE_READ(cb, end_seq);
	/* tcp_flags: u8 before 6.x's u16; the probed bitfield read sizes it per kernel. */
	__u32 flags = BPF_CORE_READ_BITFIELD_PROBED(cb, tcp_flags);
	__u32 payload = end - seq;
	if (flags & CS_TCPHDR_FIN)
		payload -= 1;
	if (flags & CS_TCPHDR_SYN)
		payload -= 1;
	if ((__s32)payload <= 0)
		return 0;
	if (skb_is_zerocopy(skb))
		c->v[CS_RX_ZC_DELIVERED_FLAGGED_BYTES] += payload;
	else
		c->v[CS_RX_ZC_DELIVERED_BYTES] += payload;
	__u32 rcv_nxt = BPF_CORE_READ((struct tcp_sock *)sk, rcv_nxt);
	if (seq_before(seq, rcv_nxt)) {
		__u32 upto = seq_before(end, rcv_nxt) ? end : rcv_nxt;
		__u32 again = upto - seq;
		c->v[CS_RX_ZC_REDELIVERED_BYTES] += again < payload ? again : payload;
	}
	return 0;
}

/* Only the skb is read: the tracepoint's other arguments differ by version (location,
 * reason since 5.17, the receiving socket since 6.13). */
SEC("tp_btf/kfree_skb")
int BPF_PROG(cs_drop, struct sk_buff *skb)
{
	__u64 key = (__u64)skb;
	struct cs_arrival *a = bpf_map_lookup_elem(&cs_arrivals, &key);
	if (!a)
		return 0;
	struct cs_arrival seen = *a;
	bpf_map_delete_elem(&cs_arrivals, &key);
	struct cs_counters *c = counters_of_slot(seen.slot);
	if (!c)
		return 0;
	if (skb_is_zerocopy(skb))
		c->v[CS_RX_ZC_DROPPED_FLAGGED_BYTES] += seen.bytes;
	else
		c->v[CS_RX_ZC_DROPPED_COPIED_BYTES] += seen.bytes;
	return 0;
}
