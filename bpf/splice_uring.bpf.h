/* SPDX-License-Identifier: GPL-2.0 */
/* The send paths of sendfile and io_uring, included by copyscope.bpf.c inside its send
 * section (after msg_has_ubuf, before count_send, which calls the helpers here):
 *   - spliced bytes: sendfile/splice to TCP attach page-cache pages to skbs by reference.
 *     6.5+: tcp_sendmsg_locked with MSG_SPLICE_PAGES (count_send, any form of the send hook);
 *     6.1-6.4: do_tcp_sendpages (its own fexit program below), which tcp_sendmsg_locked
 *     never sees.
 *   - registered bytes: io_uring SEND_ZC from registered buffers (IORING_RECVSEND_FIXED_BUF)
 *     reaches tcp_sendmsg_locked with a caller's ubuf_info and an ITER_BVEC iterator over
 *     pages pinned at registration (count_send).
 *   - io_uring notifications: the SEND_ZC notification CQEs the kernel posts for the lab's
 *     sends (or, when tracing, a traced socket's), and those flagged
 *     IORING_NOTIF_USAGE_ZC_COPIED (tracepoint io_uring_complete, joined to the send by the
 *     notification's request).
 * Each counter here is written by one program on a given kernel: SPLICE_* by the send
 * program on 6.5+ and by cs_splice_fexit on 6.1 (where MSG_SPLICE_PAGES does not exist). */
#ifndef COPYSCOPE_SPLICE_URING_BPF_H
#define COPYSCOPE_SPLICE_URING_BPF_H

/* include/linux/socket.h: an internal sendmsg flag since 6.5 (the conversion of ->sendpage
 * to sendmsg(MSG_SPLICE_PAGES)); the bit is unused on 6.1. */
#define MSG_SPLICE_PAGES 0x8000000
/* include/uapi/linux/io_uring.h, the same from 6.1 to 7.1. */
#define IORING_CQE_F_NOTIF (1U << 3)
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)

/* What count_send needs to know of a msghdr beyond its flags (cs_send_ctx.has_ubuf). */
#define CS_MSG_UBUF 1u /* a caller's ubuf_info (io_uring SEND_ZC) */
#define CS_MSG_BVEC 2u /* an ITER_BVEC iterator (registered buffers, splice) */

/* enum iter_type changed order (6.1: IOVEC first; 6.18: UBUF first): CO-RE value. */
static __always_inline __u32 msg_send_bits(const struct msghdr *msg)
{
	__u32 bits = msg_has_ubuf(msg) ? CS_MSG_UBUF : 0;
	if (msg->msg_iter.iter_type == bpf_core_enum_value(enum iter_type, ITER_BVEC))
		bits |= CS_MSG_BVEC;
	return bits;
}

static __always_inline bool route_has_sg(const struct sock *sk)
{
	return sk->sk_route_caps & (1ULL << NETIF_F_SG_BIT);
}

/* A send without MSG_ZEROCOPY that carried page-cache pages (MSG_SPLICE_PAGES): by
 * reference when the route has NETIF_F_SG (skb_splice_from_iter), else copied into the skb
 * (skb_copy_to_page_nocache), a send copy. Returns false for any other send. */
static __always_inline bool count_splice(struct cs_counters *c, const struct sock *sk,
					 __u32 msg_flags, int ret)
{
	if (!(msg_flags & MSG_SPLICE_PAGES))
		return false;
	c->v[CS_SPLICE_CALLS] += 1;
	if (route_has_sg(sk)) {
		c->v[CS_SPLICE_BYTES] += ret;
	} else {
		c->v[CS_SPLICE_COPIED_BYTES] += ret;
		c->v[CS_SEND_COPY_BYTES] += ret;
	}
	return true;
}

/* The counter slot a zerocopy send's bytes go to: registered buffers apart from pages
 * pinned per send. */
static __always_inline __u32 zerocopy_slot(__u32 bits)
{
	return (bits & (CS_MSG_UBUF | CS_MSG_BVEC)) == (CS_MSG_UBUF | CS_MSG_BVEC) ? CS_REG_ZC_BYTES
										       : CS_ZC_PINNED_BYTES;
}

/* 6.1-6.4: sendfile -> generic_splice_sendpage -> ... -> tcp_sendpage_locked ->
 * do_tcp_sendpages, once per pipe buffer (a page), which attaches the page by reference
 * (tcp_build_frag: get_page, SKBFL_SHARED_FRAG) and returns the bytes it took. Without
 * NETIF_F_SG tcp_sendpage_locked copies through tcp_sendmsg_locked instead (the send hook
 * counts that copy), so the two never count the same bytes. Exported, so it has an
 * out-of-line body to attach to; removed in 6.5. */
SEC("fexit/do_tcp_sendpages")
int BPF_PROG(cs_splice_fexit, struct sock *sk, struct page *page, int offset, size_t size,
	     int flags, ssize_t ret)
{
	if (ret <= 0)
		return 0;
	struct cs_counters *c = counters_for_tcp_sock(sk);
	if (!c)
		return 0;
	c->v[CS_SPLICE_CALLS] += 1;
	c->v[CS_SPLICE_BYTES] += ret;
	return 0;
}

/* ---- io_uring SEND_ZC notifications ---------------------------------------------------- */

/* The notification request of a SEND_ZC in flight -> the counter slot of its socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);   /* struct io_kiocb * of the notification */
	__type(value, __u32); /* counter slot */
} cs_uring_notifs SEC(".maps");

/* copyscope trace: the same, to the sending socket's entry in cs_trace_socks (its key: the
 * socket's cookie, never reused, so a notification posted after the socket closed still finds
 * the right entry). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64); /* struct io_kiocb * of the notification */
	__type(value, struct cs_sock_key);
} cs_trace_uring_notifs SEC(".maps");

/* io_uring hands tcp_sendmsg_locked msg_ubuf = &io_notif_data->uarg, and the notification's
 * io_notif_data is the command area of its io_kiocb (io_kiocb_to_cmd): the request is found
 * from the ubuf_info at CO-RE offsets (the same layout in 6.1 and 6.18). */
static __always_inline void note_uring_notif(const struct sock *sk, const struct msghdr *msg)
{
	if (!bpf_core_field_exists(((struct msghdr___cs *)0)->msg_ubuf))
		return;
	__u64 ubuf = (__u64)((struct msghdr___cs *)msg)->msg_ubuf;
	if (!ubuf)
		return;
	__u64 req = ubuf - bpf_core_field_offset(struct io_notif_data, uarg) -
		    bpf_core_field_offset(struct io_kiocb, cmd);
	if (cs_tracing) {
		/* the send program may run after this one: the entry is made here if need be */
		cs_trace_claim(sk);
		if (!cs_trace_counters_tcp(sk))
			return;
		struct cs_sock_key key;
		if (trace_key(sk, &key) && key.cookie)
			bpf_map_update_elem(&cs_trace_uring_notifs, &req, &key, BPF_ANY);
		return;
	}
	__s64 found = slot_for_tcp_sock(sk); /* a map value cannot hold a pointer into a map */
	if (found < 0)
		return;
	__u32 slot = found;
	bpf_map_update_elem(&cs_uring_notifs, &req, &slot, BPF_ANY);
}

/* The counters a notification is posted for: `run`'s slot, or trace's socket entry. */
static __always_inline struct cs_counters *uring_notif_counters(__u64 req, bool *found)
{
	if (cs_tracing) {
		struct cs_sock_key *at = bpf_map_lookup_elem(&cs_trace_uring_notifs, &req);
		if (!at)
			return NULL;
		*found = true;
		struct cs_sock_key key = *at;
		struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
		return v ? trace_counters_of(v) : trace_other(); /* refused by a full table */
	}
	__u32 *slot = bpf_map_lookup_elem(&cs_uring_notifs, &req);
	if (!slot)
		return NULL;
	*found = true;
	__u32 at = *slot;
	return bpf_map_lookup_elem(&cs_counters, &at);
}

SEC("fexit/tcp_sendmsg_locked")
int BPF_PROG(cs_uring_note_fexit, struct sock *sk, struct msghdr *msg, size_t size, int ret)
{
	note_uring_notif(sk, msg);
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(cs_uring_note_tp, const struct sock *sk, const struct msghdr *msg,
	     const struct sk_buff *skb, int size_goal)
{
	note_uring_notif(sk, msg);
	return 0;
}

/* io_uring_complete's second argument is the request on every kernel here (6.1 and 6.12:
 * ctx, req, user_data, res, cflags, extra1, extra2; 6.18+: ctx, req, cqe). A notification
 * carries IORING_CQE_F_NOTIF in req->cqe.flags (set at io_alloc_notif) and the usage bit in
 * req->cqe.res (set by io_notif_tw_complete / io_notif_complete_tw_ext before it posts). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(cs_uring_complete, void *ctx_, void *req)
{
	__u64 key = (__u64)req;
	bool found = false;
	struct cs_counters *c = uring_notif_counters(key, &found);
	if (!found)
		return 0;
	struct io_kiocb *r = req;
	__u32 flags = BPF_CORE_READ(r, cqe.flags);
	if (!(flags & IORING_CQE_F_NOTIF))
		return 0; /* the send's own CQE; its notification comes later */
	__s32 res = BPF_CORE_READ(r, cqe.res);
	bpf_map_delete_elem(cs_tracing ? (void *)&cs_trace_uring_notifs : (void *)&cs_uring_notifs,
			    &key);
	if (!c)
		return 0;
	c->v[CS_URING_NOTIFS] += 1;
	if ((__u32)res & IORING_NOTIF_USAGE_ZC_COPIED)
		c->v[CS_URING_NOTIFS_COPIED] += 1;
	return 0;
}

#endif /* COPYSCOPE_SPLICE_URING_BPF_H */
