/* SPDX-License-Identifier: GPL-2.0 */
/* `copyscope trace`: what happens to a traced socket's zerocopy skbs away from the socket
 * (transmitted, forwarded, received, copied later, per namespace), and the programs only
 * trace loads: TCP close, process following for --pid, UDP receive copies, and the zerocopy
 * completions the traced program reads from its error queue. Included by copyscope.bpf.c
 * after its skb helpers; the device-level calls are made from its cs_xmit, cs_rx and
 * cs_deferred_fexit when tracing. */

#define CS_MSG_ERRQUEUE 0x2000 /* include/uapi/linux/socket.h */
#define CS_TCP_CLOSE 7
#define CS_NR_RECVMSG 47   /* arch/x86/entry/syscalls/syscall_64.tbl */
#define CS_NR_RECVMMSG 299
#define CS_SO_EE_ORIGIN_ZEROCOPY 5
#define CS_SO_EE_CODE_ZEROCOPY_COPIED 1
#define CS_MAX_MMSG 8  /* recvmmsg messages parsed per call */
#define CS_MAX_CMSGS 4 /* control messages parsed per message (an error-queue read has one) */

/* ---- the socket that sent a zerocopy skb ----------------------------------------------- */

/* Function addresses from /proc/kallsyms (weak: 0 where the kernel has no such symbol). */
extern const void msg_zerocopy_complete __ksym __weak; /* 6.10+: ubuf_info_ops.complete */
extern const void msg_zerocopy_callback __ksym __weak; /* before: ubuf_info.callback */

/* struct ubuf_info had a callback before v6.10 (commit 7ab4f16f9e2d "net: extend ubuf_info
 * callback to ops structure"), ops since. */
struct ubuf_info___trace_cb {
	void *callback;
} __attribute__((preserve_access_index));

/* A MSG_ZEROCOPY uarg (not io_uring's, vhost's or tun's)? Unknown when the kernel's symbols
 * cannot be resolved: then taken as one (another uarg's "socket" is then found in no entry). */
static __always_inline bool trace_uarg_is_msgzc(const struct ubuf_info *uarg)
{
	if (bpf_core_field_exists(struct ubuf_info, ops)) {
		if (!&msg_zerocopy_complete)
			return true;
		const struct ubuf_info_ops *ops = BPF_CORE_READ(uarg, ops);
		return ops && (__u64)BPF_CORE_READ(ops, complete) == (__u64)&msg_zerocopy_complete;
	}
	if (!&msg_zerocopy_callback)
		return true;
	return (__u64)BPF_CORE_READ((struct ubuf_info___trace_cb *)uarg, callback) ==
	       (__u64)&msg_zerocopy_callback;
}

/* The sending socket of a MSG_ZEROCOPY skb, wherever the skb is: its uarg lives in the cb of
 * the notification skb, whose owner is the sending socket (msg_zerocopy_alloc). NULL for an
 * skb without one. A probed pointer. */
static __always_inline struct sock *trace_zc_sender(const struct sk_buff *skb)
{
	struct skb_shared_info *sh = shinfo_of(skb);
	__u64 arg = (__u64)BPF_CORE_READ(sh, destructor_arg);
	if (!arg || (arg & 1)) /* low bit: no uarg (skb_zcopy_init's nouarg) */
		return NULL;
	const struct ubuf_info *uarg = (const struct ubuf_info *)arg;
	if (!trace_uarg_is_msgzc(uarg))
		return NULL;
	const struct sk_buff *notify =
		(const struct sk_buff *)((const char *)uarg - bpf_core_field_offset(struct sk_buff, cb));
	return BPF_CORE_READ(notify, sk);
}

static __always_inline __u32 trace_dev_netns(const struct net_device *dev)
{
	if (!dev)
		return 0;
	const struct net *net = dev->nd_net.net;
	return net ? net->ns.inum : 0;
}

/* ---- device-level counts, per sending socket and namespace --------------------------- */

/* A zerocopy skb leaving through a device: from its own socket (pinned bytes and pages, the
 * socket's entry), or forwarded on (no socket: the sender's entry for this namespace). */
static __always_inline void cs_trace_xmit(const struct sk_buff *skb, const struct net_device *dev)
{
	if (!skb_is_zerocopy(skb))
		return;
	const struct sock *sk = skb->sk;
	if (sk) {
		struct cs_counters *c = cs_trace_counters_seen(sk); /* sent: seen at its send */
		if (!c)
			return;
		struct frag_sum f = skb_frags(skb);
		c->v[CS_XMIT_ZC_SKBS] += 1;
		c->v[CS_XMIT_ZC_BYTES] += f.bytes;
		c->v[CS_XMIT_ZC_PAGES] += f.pages;
		return;
	}
	struct cs_counters *c = cs_trace_counters_at(trace_zc_sender(skb), trace_dev_netns(dev));
	if (c)
		c->v[CS_FWD_ZC_BYTES] += skb->data_len; /* TCP zerocopy skbs: no frag_list */
}

/* A zerocopy skb received in a namespace: charged there to the socket that sent it. */
static __always_inline void cs_trace_rx(const struct sk_buff *skb)
{
	if (!skb_is_zerocopy(skb))
		return;
	struct cs_counters *c = cs_trace_counters_at(trace_zc_sender(skb), trace_dev_netns(skb->dev));
	if (!c)
		return;
	c->v[CS_RX_ZC_SKBS] += 1;
	c->v[CS_RX_ZC_BYTES] += skb->data_len; /* as skb_copy_ubufs would copy: the fragments */
}

/* skb_copy_ubufs ends in skb_zcopy_clear, which may free the uarg: the sending socket is
 * taken at its entry, keyed by skb (a call interrupted by one in softirq keeps its own). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);   /* struct sk_buff * */
	__type(value, __u64); /* the sending socket */
} cs_trace_ubufs SEC(".maps");

SEC("fentry/skb_copy_ubufs")
int BPF_PROG(cs_trace_ubufs_entry, struct sk_buff *skb, gfp_t gfp_mask)
{
	struct sock *sk = trace_zc_sender(skb);
	if (!sk)
		return 0;
	__u64 key = (__u64)skb, value = (__u64)sk;
	bpf_map_update_elem(&cs_trace_ubufs, &key, &value, BPF_ANY);
	return 0;
}

/* At skb_copy_ubufs' exit (ret 0: every fragment replaced by a copy): the copy, in the
 * namespace of the device the skb is on, else of its sender. */
static __always_inline void cs_trace_deferred(const struct sk_buff *skb, int ret)
{
	__u64 key = (__u64)skb;
	__u64 *sender = bpf_map_lookup_elem(&cs_trace_ubufs, &key);
	if (!sender)
		return;
	const struct sock *sk = (const struct sock *)*sender;
	bpf_map_delete_elem(&cs_trace_ubufs, &key);
	if (ret != 0)
		return;
	__u32 netns = trace_dev_netns(skb->dev);
	if (!netns)
		netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	struct cs_counters *c = cs_trace_counters_at(sk, netns);
	if (!c)
		return;
	c->v[CS_DEFERRED_CALLS] += 1;
	c->v[CS_DEFERRED_BYTES] += skb_frags(skb).bytes;
}

/* ---- TCP receive copies ----------------------------------------------------------------- */

/* A receive copy (skb_copy_datagram_iovec, inside a recvmsg: process context) has only the
 * skb's socket, which cannot be given a cookie: a socket in scope but not yet in the table (its
 * first use is a receive, or it was connected before the trace) has its copies held here, per
 * task, until sock_recv_length ends the same recvmsg with the socket as its own argument, where
 * it enters the table and takes them. */
struct cs_recv_pending {
	__u64 sk; /* the socket of the recvmsg under way (only compared, never read) */
	__u64 calls, bytes, zc_flagged_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct cs_recv_pending);
} cs_trace_recv_pending SEC(".maps");

static __always_inline void trace_add_recv(struct cs_counters *c, __u64 calls, __u64 bytes,
					   __u64 zc_flagged)
{
	c->v[CS_RECV_CALLS] += calls;
	c->v[CS_RECV_BYTES] += bytes;
	c->v[CS_RECV_ZC_FLAGGED_BYTES] += zc_flagged;
}

/* cs_recv when tracing: TCP sockets, as `run` counts them. */
static __always_inline void cs_trace_recv(const struct sk_buff *skb, int len)
{
	const struct sock *sk = skb->sk;
	if (!sk || BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return;
	struct cs_sock_key key;
	if (!trace_key(sk, &key))
		return;
	struct cs_sock_value *v = key.cookie ? bpf_map_lookup_elem(&cs_trace_socks, &key) : NULL;
	if (!v && !trace_use_in_scope(sk, key.netns))
		return;
	/* Still flagged here: the receiver copies from the sender's own pages, which no
	 * deferred copy replaced (skb_copy_ubufs ends in skb_zcopy_clear). */
	__u64 zc = skb_is_zerocopy(skb) ? len : 0;
	if (v) {
		trace_touch(v, sk);
		trace_add_recv(&v->c, 1, len, zc);
		return;
	}
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_recv_pending *p = bpf_map_lookup_elem(&cs_trace_recv_pending, &id);
	if (p && p->sk == (__u64)sk) {
		p->calls += 1;
		p->bytes += len;
		p->zc_flagged_bytes += zc;
		return;
	}
	struct cs_recv_pending fresh = {.sk = (__u64)sk, .calls = 1, .bytes = len, .zc_flagged_bytes = zc};
	bpf_map_update_elem(&cs_trace_recv_pending, &id, &fresh, BPF_ANY);
}

/* The end of a TCP recvmsg (sock_recv_length, 6.3+): its socket takes the copies held for it. */
static __always_inline void trace_recv_settle(const struct sock *sk)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct cs_recv_pending *p = bpf_map_lookup_elem(&cs_trace_recv_pending, &id);
	if (!p)
		return;
	struct cs_recv_pending held = *p;
	bpf_map_delete_elem(&cs_trace_recv_pending, &id);
	struct cs_counters *c;
	if (held.sk == (__u64)sk) {
		cs_trace_claim(sk);
		c = cs_trace_counters(sk);
	} else {
		c = trace_other(); /* a recvmsg that never reached its end: its socket is unknown */
	}
	if (c)
		trace_add_recv(c, held.calls, held.bytes, held.zc_flagged_bytes);
}

/* ---- programs only trace loads ---------------------------------------------------------- */

/* A TCP socket closed: its entry is marked (userspace keeps it for the report). Counts may
 * still come after: queued data read, deferred copies at the peer, completions. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(cs_trace_close, const struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate != CS_TCP_CLOSE)
		return 0;
	struct cs_sock_key key;
	if (!trace_key(sk, &key) || !key.cookie) /* no cookie: never in the table */
		return 0;
	struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
	if (!v)
		return 0;
	v->info.flags |= CS_SOCK_CLOSED;
	v->info.closed_ns = bpf_ktime_get_ns();
	return 0;
}

/* --pid: the children of traced processes are traced (threads share the tgid anyway). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(cs_trace_fork, struct task_struct *parent, struct task_struct *child)
{
	if (!(cs_scope_flags & CS_SCOPE_PID))
		return 0;
	__u32 parent_tgid = parent->tgid, child_tgid = child->tgid;
	if (parent_tgid == child_tgid || !bpf_map_lookup_elem(&cs_scope_pids, &parent_tgid))
		return 0;
	__u8 one = 1;
	bpf_map_update_elem(&cs_scope_pids, &child_tgid, &one, BPF_ANY);
	return 0;
}

/* A traced process's leader exits: its tgid may be reused by anyone later. Only the first
 * argument is read (6.18 added a bool). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(cs_trace_exit, struct task_struct *task)
{
	if (!(cs_scope_flags & CS_SCOPE_PID))
		return 0;
	__u32 tgid = task->tgid;
	if (task->pid != task->tgid)
		return 0;
	bpf_map_delete_elem(&cs_scope_pids, &tgid);
	return 0;
}

/* UDP sends: sock_send_length (6.3+) reports every sendmsg's bytes; which of them were
 * copied or pinned is not classified here (TCP's are, by the send hook). */
SEC("tp_btf/sock_send_length")
int BPF_PROG(cs_trace_udp_send, struct sock *sk, int ret, int flags)
{
	if (ret <= 0 || BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	cs_trace_claim(sk);
	struct cs_counters *c = cs_trace_counters(sk);
	if (!c)
		return 0;
	c->v[CS_SEND_CALLS] += 1;
	c->v[CS_SEND_BYTES] += ret;
	c->v[CS_SEND_UNCLASSIFIED_BYTES] += ret;
	return 0;
}

/* The end of a TCP recvmsg where fexit loads (6.1 has no sock_recv_length): the same
 * settling, with the socket as tcp_recvmsg's own argument. Where both load, the first settles
 * and the second finds nothing held. */
SEC("fexit/tcp_recvmsg")
int BPF_PROG(cs_trace_recv_settle, struct sock *sk)
{
	trace_recv_settle(sk);
	return 0;
}

/* UDP receive copies: udp_recvmsg copies linear skbs with copy_to_iter, never through
 * skb_copy_datagram_iovec; sock_recv_length (6.3+) reports every datagram's bytes. TCP's are
 * counted at skb_copy_datagram_iovec (cs_recv), and settled here for a socket not yet in the
 * table (trace_recv_settle); error-queue reads below. */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(cs_trace_recv_len, struct sock *sk, int ret, int flags)
{
	__u16 protocol = BPF_CORE_READ_BITFIELD(sk, sk_protocol);
	if (protocol == IPPROTO_TCP) {
		trace_recv_settle(sk);
		return 0;
	}
	if (ret <= 0 || (flags & CS_MSG_ERRQUEUE) || protocol != IPPROTO_UDP)
		return 0;
	cs_trace_claim(sk);
	struct cs_counters *c = cs_trace_counters(sk);
	if (!c)
		return 0;
	c->v[CS_RECV_CALLS] += 1;
	c->v[CS_RECV_BYTES] += ret;
	return 0;
}

/* ---- zerocopy completions as the traced program read them ---------------------------- */

struct user_msghdr___trace {
	__u64 msg_name;
	int msg_namelen;
	__u64 msg_iov;
	__u64 msg_iovlen;
	__u64 msg_control;
	__u64 msg_controllen;
	unsigned int msg_flags;
};
struct cmsghdr___trace {
	__u64 cmsg_len;
	int cmsg_level;
	int cmsg_type;
};
struct sock_extended_err___trace {
	__u32 ee_errno;
	__u8 ee_origin, ee_type, ee_code, ee_pad;
	__u32 ee_info, ee_data;
};

/* The socket behind a descriptor of the current task: files -> fdtable -> file ->
 * private_data, a struct socket when its file points back to the same file. */
static __always_inline struct sock *trace_fd_sock(__u64 fd)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *file = NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), (const char *)fds + (fd & 0xffffff) * 8) ||
	    !file)
		return NULL;
	struct socket *sock = BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != file)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

/* The zerocopy notifications in one msghdr the kernel just filled. */
static __always_inline void trace_parse_errqueue(__u64 umsg, struct cs_counters *c)
{
	struct user_msghdr___trace m;
	if (bpf_probe_read_user(&m, sizeof(m), (const void *)umsg))
		return;
	__u64 off = 0;
	for (int i = 0; i < CS_MAX_CMSGS; i++) {
		struct cmsghdr___trace h;
		struct sock_extended_err___trace e;
		if (off + sizeof(h) > m.msg_controllen)
			break;
		if (bpf_probe_read_user(&h, sizeof(h), (const void *)(m.msg_control + off)))
			break;
		if (h.cmsg_len < sizeof(h))
			break;
		/* IP_RECVERR (SOL_IP 0, 11), IPV6_RECVERR (SOL_IPV6 41, 25) */
		if ((h.cmsg_level == 0 && h.cmsg_type == 11) || (h.cmsg_level == 41 && h.cmsg_type == 25)) {
			if (bpf_probe_read_user(&e, sizeof(e),
						(const void *)(m.msg_control + off + sizeof(h))))
				break;
			if (e.ee_origin == CS_SO_EE_ORIGIN_ZEROCOPY) {
				__u64 n = (__u64)(__u32)(e.ee_data - e.ee_info) + 1; /* an inclusive range */
				c->v[CS_ZC_READ_NOTIFICATIONS] += 1;
				c->v[CS_ZC_READ_SENDS] += n;
				if (e.ee_code & CS_SO_EE_CODE_ZEROCOPY_COPIED)
					c->v[CS_ZC_READ_COPIED] += n;
			}
		}
		off += (h.cmsg_len + 7) & ~7ULL; /* CMSG_ALIGN */
	}
}

/* Every syscall's exit: recvmsg/recvmmsg with MSG_ERRQUEUE that succeeded. The raw syscall
 * tracepoint needs no tracefs; x86-64 registers hold the arguments (di, si, dx, r10) and the
 * number (orig_ax). A zerocopy notification carries no data: recvmsg returns 0. */
SEC("tp_btf/sys_exit")
int BPF_PROG(cs_trace_errqueue, struct pt_regs *regs, long ret)
{
	long nr = regs->orig_ax;
	if (nr != CS_NR_RECVMSG && nr != CS_NR_RECVMMSG)
		return 0;
	if (ret < 0)
		return 0;
	__u64 flags = nr == CS_NR_RECVMSG ? regs->dx : regs->r10;
	if (!(flags & CS_MSG_ERRQUEUE))
		return 0;
	struct cs_counters *c = cs_trace_counters_probed(trace_fd_sock(regs->di));
	if (!c)
		return 0;
	__u64 msg = regs->si;
	if (nr == CS_NR_RECVMSG) {
		trace_parse_errqueue(msg, c);
		return 0;
	}
	for (int i = 0; i < CS_MAX_MMSG; i++) { /* struct mmsghdr: msghdr + msg_len, 64 bytes */
		if (i >= ret)
			break;
		trace_parse_errqueue(msg + i * 64, c);
	}
	if (ret > CS_MAX_MMSG) {
		__u32 zero = 0;
		struct cs_trace_stats *st = bpf_map_lookup_elem(&cs_trace_stats, &zero);
		if (st)
			st->errqueue_msgs_skipped += ret - CS_MAX_MMSG;
	}
	return 0;
}
