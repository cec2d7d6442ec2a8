/* SPDX-License-Identifier: GPL-2.0 */
/* Pages MSG_ZEROCOPY pins, and the completions that release them. Included by
 * copyscope.bpf.c.
 *
 * Pages, exact form: TCP attaches user pages in skb_zerocopy_iter_stream ->
 * __zerocopy_sg_from_iter / zerocopy_fill_skb_from_iter -> iov_iter_get_pages2, one call per
 * chunk of one iovec (a page reference each, get_user_pages_fast). Consecutive calls walk
 * the iterator forward, so the only page two calls share is the one where the previous
 * chunk ended (an skb boundary, or two iovecs in one page): counted once per send.
 * Retransmits and GSO segments never pass here.
 *
 * Completions: a MSG_ZEROCOPY uarg completes once, when refcount_dec_and_test() drops its
 * last reference and __msg_zerocopy_callback runs. Counting there cannot race (two CPUs
 * dropping the last two references both see a count of 2 at msg_zerocopy_complete's entry).
 * Where the callback is inlined (Debian 7.2) so is its first call,
 * mm_unaccount_pinned_pages: an fentry there attaches to the out-of-line copy RDS calls and
 * never runs for TCP or UDP, so no fentry form is offered there. */

#define CS_PAGE_SHIFT 12

/* Per task, within one MSG_ZEROCOPY sendmsg: is a zerocopy iterator walk under way, and the
 * last page it referenced. */
struct cs_pin_state {
	__u64 last_page;
	__u32 slot;
	__u32 active;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid: the walk can sleep (page faults) and migrate */
	__type(value, struct cs_pin_state);
} cs_pin_state SEC(".maps");

/* A new send: its pages are counted afresh. */
SEC("fentry/tcp_sendmsg_locked")
int BPF_PROG(cs_pin_send, struct sock *sk, struct msghdr *msg, size_t size)
{
	if (!(msg->msg_flags & MSG_ZEROCOPY))
		return 0;
	struct cs_ns_entry *e = NULL;
	if (!counters_for_tcp_sock(sk))
		return 0;
	__u32 inum = sk->__sk_common.skc_net.net->ns.inum;
	e = bpf_map_lookup_elem(&cs_ns_filter, &inum);
	if (!e)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_pin_state st = {.slot = e->slot};
	bpf_map_update_elem(&cs_pin_state, &id, &st, BPF_ANY);
	return 0;
}

static __always_inline void pin_walk(bool active)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_pin_state *st = bpf_map_lookup_elem(&cs_pin_state, &id);
	if (st)
		st->active = active;
}

SEC("fentry/skb_zerocopy_iter_stream")
int BPF_PROG(cs_pin_walk_entry)
{
	pin_walk(true);
	return 0;
}

SEC("fexit/skb_zerocopy_iter_stream")
int BPF_PROG(cs_pin_walk_exit)
{
	pin_walk(false);
	return 0;
}

SEC("fexit/iov_iter_get_pages2")
int BPF_PROG(cs_pin_pages, struct iov_iter *i, struct page **pages, size_t maxsize,
	     unsigned int maxpages, size_t *start, ssize_t ret)
{
	if (ret <= 0)
		return 0;
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_pin_state *st = bpf_map_lookup_elem(&cs_pin_state, &id);
	if (!st || !st->active)
		return 0;
	struct cs_counters *c = counters_of_slot(st->slot);
	if (!c)
		return 0;
	size_t off = 0;
	bpf_probe_read_kernel(&off, sizeof off, start);
	__u64 n = (off + ret + CS_PAGE_SIZE - 1) >> CS_PAGE_SHIFT;
	if (n == 0 || n > 64)
		return 0;
	__u64 first = 0, last = 0;
	bpf_probe_read_kernel(&first, sizeof first, &pages[0]);
	bpf_probe_read_kernel(&last, sizeof last, &pages[n - 1]);
	c->v[CS_PIN_CALLS] += 1;
	c->v[CS_PIN_PAGES] += n - (first && first == st->last_page ? 1 : 0);
	st->last_page = last;
	return 0;
}

/* ---- pages from the iovecs (tracepoint form) ------------------------------------------ */

/* The iterator as tcp_sendmsg_locked's tracepoint first sees it in a syscall. iov_iter's
 * iovec pointer is __iov since v6.4 (commit de4f5fed3f23 "iov_iter: add iter_iovec()
 * helper"), iov before; ITER_UBUF exists since v6.0. The tracepoint itself is 6.16+. */
struct iov_iter___iov {
	const struct iovec *iov;
} __attribute__((preserve_access_index));

static __always_inline void snapshot_iter(const struct msghdr *msg, struct cs_send_ctx *s)
{
	const struct iov_iter *it = &msg->msg_iter;
	__u8 type = it->iter_type;
	s->iov_offset = it->iov_offset;
	if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	    type == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		s->iov = (__u64)BPF_CORE_READ(it, ubuf);
		s->nr_segs = 0;
	} else if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC)) {
		if (bpf_core_field_exists(it->__iov))
			s->iov = (__u64)BPF_CORE_READ(it, __iov);
		else
			s->iov = (__u64)BPF_CORE_READ((struct iov_iter___iov *)it, iov);
		s->nr_segs = it->nr_segs;
	} else {
		s->nr_segs = 0xffffffff;
	}
}

static __always_inline __u64 page_of(__u64 addr)
{
	return addr >> CS_PAGE_SHIFT;
}

#define CS_MAX_IOVS 16

/* User pages spanned by the first `bytes` bytes of the iterator, a page shared by two
 * consecutive iovecs counted once: the count iov_iter_get_pages2 would give. */
static __always_inline void count_iter_pages(const struct cs_send_ctx *s, __u64 bytes,
					     struct cs_counters *c)
{
	if (s->nr_segs == 0) {
		__u64 a = s->iov + s->iov_offset;
		c->v[CS_PIN_PAGES_TP] += page_of(a + bytes - 1) - page_of(a) + 1;
		return;
	}
	if (s->nr_segs == 0xffffffff) {
		c->v[CS_PIN_PAGES_TP_SKIPPED_BYTES] += bytes;
		return;
	}
	const struct iovec *iov = (const struct iovec *)s->iov;
	__u64 left = bytes, pages = 0, last = (__u64)-1, skip = s->iov_offset;
	for (__u32 k = 0; k < CS_MAX_IOVS; k++) {
		if (k >= s->nr_segs || left == 0)
			break;
		struct iovec v = {};
		if (bpf_probe_read_kernel(&v, sizeof v, &iov[k]))
			break;
		__u64 base = (__u64)v.iov_base, len = v.iov_len;
		if (skip) {
			__u64 d = skip < len ? skip : len;
			base += d;
			len -= d;
			skip -= d;
		}
		if (len > left)
			len = left;
		if (len == 0)
			continue;
		__u64 first = page_of(base), end = page_of(base + len - 1);
		pages += end - first + 1 - (first == last ? 1 : 0);
		last = end;
		left -= len;
	}
	c->v[CS_PIN_PAGES_TP] += pages;
	if (left)
		c->v[CS_PIN_PAGES_TP_SKIPPED_BYTES] += left;
}

/* ---- completions ------------------------------------------------------------------------ */

/* One MSG_ZEROCOPY uarg completing: the sends it covers (len, a u16 since the uarg holds a
 * range of ids) and, with its zerocopy bit (the AND of every reference's success) clear,
 * those completed COPIED. No notification is queued for len 0 (an aborted send) or a dead
 * socket. */
static __always_inline void count_completion(const struct ubuf_info_msgzc *uarg)
{
	__u64 len = BPF_CORE_READ(uarg, len);
	if (!len)
		return;
	const struct sock *sk = msgzc_sock(uarg);
	if (!sk)
		return;
	unsigned long sk_flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
	if (sk_flags & (1UL << bpf_core_enum_value(enum sock_flags, SOCK_DEAD)))
		return;
	/* copyscope trace: the socket's own counters, if in scope */
	struct cs_counters *c = cs_tracing ? cs_trace_counters_probed(sk) : counters_for_zc_sock_probed(sk);
	if (!c)
		return;
	__u64 zerocopy = BPF_CORE_READ_BITFIELD_PROBED(uarg, zerocopy);
	c->v[CS_ZC_COMPLETED_SENDS] += len;
	if (!zerocopy)
		c->v[CS_ZC_COMPLETED_COPIED] += len;
}

SEC("fentry/__msg_zerocopy_callback")
int BPF_PROG(cs_zc_done, struct ubuf_info_msgzc *uarg)
{
	count_completion(uarg);
	return 0;
}
