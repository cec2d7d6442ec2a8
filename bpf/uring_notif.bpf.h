/* SPDX-License-Identifier: GPL-2.0 */
/* io_uring SEND_ZC notifications flagged IORING_NOTIF_USAGE_ZC_COPIED only because they were
 * stacked, included by copyscope.bpf.c after splice_uring.bpf.h (IORING_CQE_F_NOTIF,
 * IORING_NOTIF_USAGE_ZC_COPIED).
 *
 * Since 6.10 (6fe4220912d1 "io_uring/notif: implement notification stacking") a SEND_ZC
 * whose bytes go into the TCP write queue's tail skb, owned by an earlier request's
 * notification, is linked into that notification's chain (io_link_skb: nd->head = the
 * chain's head) and the skb keeps the owner's ubuf_info. If all its bytes fit there, no skb
 * ever completes with its own ubuf_info, io_tx_ubuf_complete never sets its zc_used, and
 * io_notif_tw_complete flags it COPIED (zc_report && (zc_copied || !zc_used)) although none
 * of its bytes was copied: a copy of the skb it rode in sets the owner's zc_copied.
 *
 * Classified at tp_btf/io_uring_complete, as the CQE is filled: the notification's
 * io_notif_data is its io_kiocb's command area (io_kiocb_to_cmd), and its chain fields are
 * not cleared before the request is freed. The tracepoint's second argument is the request
 * on every kernel here: (ctx, req, user_data, res, cflags, extra1, extra2) up to 6.12,
 * (ctx, req, cqe) since "io_uring: clean up cqe trace points" (Pavel Begunkov, after 6.12);
 * the CQE's fields are read from req->cqe, filled before the tracepoint in both. On CQ
 * overflow the tracepoint has req == NULL: those notifications stay unclassified (the
 * ledger compares the classified count with the sender's).
 *
 * The socket and the bytes come from the send request's own CQE (IORING_CQE_F_MORE: a
 * notification follows, with the same user_data), which io_uring posts before the
 * notification's: its file is the socket, its res the bytes sent. */
#ifndef COPYSCOPE_URING_NOTIF_BPF_H
#define COPYSCOPE_URING_NOTIF_BPF_H

/* include/uapi/linux/io_uring.h, unchanged since 6.0. */
#define CS_IORING_OP_SEND_ZC 47
#define CS_IORING_OP_SENDMSG_ZC 48
#define CS_IORING_CQE_F_MORE (1U << 1)

struct cs_uring_send_key {
	__u64 ring;
	__u64 user_data;
};

struct cs_uring_send {
	__u32 slot;
	__u32 pad;
	__u64 bytes;
};

/* A lab socket's SEND_ZC whose notification is still to come -> its slot and bytes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct cs_uring_send_key);
	__type(value, struct cs_uring_send);
} cs_uring_sends SEC(".maps");

/* 6.1-6.9 have no chain: struct io_notif_data without head (bpf_core_field_exists). */
struct io_notif_data___cs {
	struct io_notif_data___cs *head;
	bool zc_report;
	bool zc_used;
	bool zc_copied;
} __attribute__((preserve_access_index));

/* The send request's CQE: remember its socket's slot and bytes for its notification. */
static __always_inline void note_uring_send(struct io_kiocb *r, __u64 ring, __u64 user_data)
{
	__u8 op = BPF_CORE_READ(r, opcode);
	if (op != CS_IORING_OP_SEND_ZC && op != CS_IORING_OP_SENDMSG_ZC)
		return;
	__s32 res = BPF_CORE_READ(r, cqe.res);
	if (res < 0)
		return;
	struct file *f = BPF_CORE_READ(r, file);
	if (!f)
		return;
	struct socket *sock = BPF_CORE_READ(f, private_data);
	struct sock *sk = BPF_CORE_READ(sock, sk);
	if (!sk || BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol) != IPPROTO_TCP)
		return;
	__s64 slot = slot_for_sock_fields(
		BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum), BPF_CORE_READ(sk, __sk_common.skc_num),
		BPF_CORE_READ(sk, __sk_common.skc_dport), BPF_CORE_READ(sk, __sk_common.skc_daddr),
		BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr));
	if (slot < 0)
		return;
	struct cs_uring_send_key key = {.ring = ring, .user_data = user_data};
	struct cs_uring_send val = {.slot = slot, .bytes = res};
	bpf_map_update_elem(&cs_uring_sends, &key, &val, BPF_ANY);
}

/* Flagged COPIED only because stacked: linked into another notification's chain, no skb
 * of its own completed (!zc_used), nothing copied (!zc_copied). Without head (before 6.10)
 * a notification cannot be linked. */
static __always_inline bool notif_stacked(struct io_notif_data___cs *nd)
{
	if (!bpf_core_field_exists(nd->head))
		return false;
	return BPF_CORE_READ(nd, zc_report) && BPF_CORE_READ(nd, head) != nd &&
	       !BPF_CORE_READ(nd, zc_used) && !BPF_CORE_READ(nd, zc_copied);
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(cs_uring_notif_class, void *ring_, void *req)
{
	if (!req)
		return 0; /* CQ overflow: unclassified */
	struct io_kiocb *r = req;
	const __u64 ring = (__u64)BPF_CORE_READ(r, ctx);
	const __u64 user_data = BPF_CORE_READ(r, cqe.user_data);
	const __u32 flags = BPF_CORE_READ(r, cqe.flags);
	if (!(flags & IORING_CQE_F_NOTIF)) {
		if (flags & CS_IORING_CQE_F_MORE)
			note_uring_send(r, ring, user_data);
		return 0;
	}
	struct cs_uring_send_key key = {.ring = ring, .user_data = user_data};
	struct cs_uring_send *send = bpf_map_lookup_elem(&cs_uring_sends, &key);
	if (!send)
		return 0;
	__u32 slot = send->slot;
	__u64 bytes = send->bytes;
	bpf_map_delete_elem(&cs_uring_sends, &key);
	struct cs_counters *c = bpf_map_lookup_elem(&cs_counters, &slot);
	if (!c)
		return 0;
	c->v[CS_URING_NOTIFS_CLASSIFIED] += 1;
	if (!((__u32)BPF_CORE_READ(r, cqe.res) & IORING_NOTIF_USAGE_ZC_COPIED))
		return 0;
	c->v[CS_URING_NOTIFS_CLASSIFIED_COPIED] += 1;
	struct io_notif_data___cs *nd =
		(void *)((char *)r + bpf_core_field_offset(struct io_kiocb, cmd));
	if (bpf_core_field_exists(nd->zc_copied) && BPF_CORE_READ(nd, zc_copied))
		c->v[CS_URING_NOTIFS_CLASSIFIED_ZC_COPIED] += 1;
	if (notif_stacked(nd)) {
		c->v[CS_URING_NOTIFS_STACKED] += 1;
		c->v[CS_URING_NOTIFS_STACKED_BYTES] += bytes;
	}
	return 0;
}

#endif /* COPYSCOPE_URING_NOTIF_BPF_H */
