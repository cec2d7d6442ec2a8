/* SPDX-License-Identifier: GPL-2.0 */
/* `copyscope trace`: the per-socket table and its scope. Included by copyscope.bpf.c before
 * its socket lookups, which hand out a socket's own counters here when tracing (cs_tracing),
 * so that every program counts for the socket exactly what it counts for a lab namespace in
 * `run`: one code path, two ways of keying it.
 *
 * A socket enters the table at its first sight if it is in scope:
 *   - by its cgroup v2 (sk_cgrp_data, stamped at socket creation; accepted sockets inherit
 *     the listener's): decided from the socket itself, in any context;
 *   - by its network namespace: likewise;
 *   - by process (--pid): only in the process context of a traced process using it
 *     (cs_trace_claim, from the send, receive and error-queue programs), since in softirq
 *     `current` is whichever task happened to run.
 * Every other program only asks whether the socket is in the table. Entries are keyed by the
 * socket's cookie (trace_key), never by its address, which the allocator hands to later
 * sockets while the entry is kept for the report. A socket gets a cookie where it enters the
 * table, from a pointer bpf_get_socket_cookie takes: a tracepoint's or fentry's own socket
 * argument. An skb's socket (skb->sk) is an RCU pointer to the verifier, which that helper
 * refuses (6.18): the programs that only have one look the socket up (cs_trace_counters_seen,
 * cs_trace_recv) and never insert it. The table is bounded:
 * what an in-scope socket counts when it is full goes to cs_trace_other, and each such event
 * is counted, never dropped silently. */

#include "sockets_shared.h"

/* Set before load (rodata): the verifier drops the tracing code from `run`'s programs. */
const volatile bool cs_tracing = false;
const volatile __u32 cs_scope_flags = 0;
const volatile __u64 cs_scope_cgroup = 0;       /* kn->id of the scope's cgroup */
const volatile __u32 cs_scope_cgroup_level = 0; /* its cgroup->level */

/* Userspace sizes it before load: 1 entry for `run`, what memory allows for trace. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 1);
	__type(key, struct cs_sock_key);
	__type(value, struct cs_sock_value);
} cs_trace_socks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32); /* net->ns.inum */
	__type(value, __u8);
} cs_scope_netns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} cs_scope_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_counters);
} cs_trace_other SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_trace_stats);
} cs_trace_stats SEC(".maps");

/* A new entry is built here (too large for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_sock_value);
} cs_trace_scratch SEC(".maps");

/* A socket's own entry key, kept on the socket itself where it enters the table: the cgroup
 * getsockopt program (TCP_ZEROCOPY_RECEIVE) sees the socket only as a bpf_sock, cannot take
 * its cookie (cg_sockopt_func_proto has no get_socket_cookie) but can read its storage. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct cs_sock_key);
} cs_trace_sk_key SEC(".maps");

#define CS_AF_INET 2
#define CS_AF_INET6 10

/* ---- reading a socket ------------------------------------------------------------------ */

/* The key of a socket's own entry, by its cookie (sk_cookie): 0 until generated (the socket
 * memory is zeroed at allocation, sk_prot_alloc, and sk_clone_lock resets it for an accepted
 * socket), then unique for the life of the machine, so an entry never joins a later socket
 * that reuses the memory. Only a socket about to enter the table has one generated
 * (trace_cookie); a cookie of 0 means the socket has no entry. `sk` is a BTF pointer (a
 * tracepoint or fentry argument): fields are read directly. */
static __always_inline bool trace_key(const struct sock *sk, struct cs_sock_key *key)
{
	const struct net *net = sk->__sk_common.skc_net.net;
	if (!net)
		return false;
	key->cookie = sk->__sk_common.skc_cookie.counter;
	key->pad = 0;
	key->netns = net->ns.inum;
	return true;
}

/* The cookie of a socket about to enter the table, generated if it has none yet
 * (bpf_get_socket_cookie: sock_gen_cookie, for tracing programs since 5.12). */
static __always_inline void trace_cookie(const struct sock *sk, struct cs_sock_key *key)
{
	if (!key->cookie)
		key->cookie = bpf_get_socket_cookie((void *)sk);
}

/* The same for a socket pointer from a probed read (a scalar to the verifier): the helper
 * takes BTF pointers only, so such a socket without a cookie is not in the table. */
static __always_inline bool trace_key_probed(const struct sock *sk, struct cs_sock_key *key)
{
	if (!sk)
		return false;
	key->cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	key->pad = 0;
	key->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	return key->cookie != 0 && key->netns != 0;
}

/* TCP and UDP over IPv4 and IPv6: what trace accounts. */
static __always_inline bool trace_wanted_fields(__u16 family, __u16 protocol)
{
	return (family == CS_AF_INET || family == CS_AF_INET6) &&
	       (protocol == IPPROTO_TCP || protocol == IPPROTO_UDP);
}

/* Before v5.15 (commit 8520e224f547 "bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed
 * mode") sock_cgroup_data was a union without a plain cgroup pointer; such kernels give no
 * cgroup (0), and the cgroup scope then matches nothing. */
static __always_inline struct cgroup *trace_sock_cgroup(const struct sock *sk)
{
	if (!bpf_core_field_exists(((struct sock_cgroup_data *)0)->cgroup))
		return NULL;
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
}

/* Is the cgroup (id, level) the scope's or below it? Its ancestor at the scope's level says
 * (struct cgroup's ancestors[], a flexible array: read by address). */
static __always_inline bool trace_cgroup_in_scope(const struct cgroup *cg, __u64 id, int level)
{
	if (id == cs_scope_cgroup)
		return true;
	__u32 at = cs_scope_cgroup_level;
	if (level <= (int)at)
		return false;
	struct cgroup *ancestor = NULL;
	const char *slot = (const char *)cg + bpf_core_field_offset(struct cgroup, ancestors) +
			   (at & 255) * sizeof(ancestor);
	if (bpf_probe_read_kernel(&ancestor, sizeof(ancestor), slot) || !ancestor)
		return false;
	return BPF_CORE_READ(ancestor, kn, id) == cs_scope_cgroup;
}

/* Scope by what the socket says of itself (its cgroup and namespace), decidable in any
 * context; a process scope is never decided here (cs_trace_claim does). `sk` is a BTF
 * pointer: read directly, since this runs for every socket that is not in the table. */
static __always_inline bool trace_sock_in_scope(const struct sock *sk, __u32 netns)
{
	if (!trace_wanted_fields(sk->__sk_common.skc_family, BPF_CORE_READ_BITFIELD(sk, sk_protocol)))
		return false;
	if (!cs_scope_flags || (cs_scope_flags & CS_SCOPE_PID))
		return false;
	if (cs_scope_flags & CS_SCOPE_CGROUP) {
		if (!bpf_core_field_exists(((struct sock_cgroup_data *)0)->cgroup))
			return false;
		const struct cgroup *cg = sk->sk_cgrp_data.cgroup;
		if (!cg || !trace_cgroup_in_scope(cg, cg->kn->id, cg->level))
			return false;
	}
	if (cs_scope_flags & CS_SCOPE_NETNS) {
		if (!bpf_map_lookup_elem(&cs_scope_netns, &netns))
			return false;
	}
	return true;
}

/* The same for a socket pointer from a probed read. */
static __always_inline bool trace_sock_in_scope_probed(const struct sock *sk, __u32 netns)
{
	if (!trace_wanted_fields(BPF_CORE_READ(sk, __sk_common.skc_family),
				 BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol)))
		return false;
	if (!cs_scope_flags || (cs_scope_flags & CS_SCOPE_PID))
		return false;
	if (cs_scope_flags & CS_SCOPE_CGROUP) {
		struct cgroup *cg = trace_sock_cgroup(sk);
		if (!cg || !trace_cgroup_in_scope(cg, BPF_CORE_READ(cg, kn, id), BPF_CORE_READ(cg, level)))
			return false;
	}
	if (cs_scope_flags & CS_SCOPE_NETNS) {
		if (!bpf_map_lookup_elem(&cs_scope_netns, &netns))
			return false;
	}
	return true;
}

static __always_inline void trace_owner(struct cs_sock_info *info)
{
	info->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(info->comm, sizeof(info->comm));
}

/* Fills an entry's identity from the socket (probed reads: insertion only). */
static __always_inline void trace_identity(struct cs_sock_info *info, const struct sock *sk)
{
	struct cgroup *cg = trace_sock_cgroup(sk);
	info->cgroup_id = cg ? BPF_CORE_READ(cg, kn, id) : 0;
	info->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	info->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	info->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	info->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	info->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (info->family == CS_AF_INET6) {
		BPF_CORE_READ_INTO(&info->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&info->remote_addr, sk, __sk_common.skc_v6_daddr);
	} else {
		BPF_CORE_READ_INTO((__u32 *)info->local_addr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)info->remote_addr, sk, __sk_common.skc_daddr);
	}
}

/* ---- the table ------------------------------------------------------------------------- */

/* An entry's counters. The barrier keeps the compiler from adding the offset before the
 * null test (the verifier refuses arithmetic on a pointer that may be null). */
static __always_inline struct cs_counters *trace_counters_of(struct cs_sock_value *v)
{
	if (!v)
		return NULL;
	barrier_var(v);
	return &v->c;
}

static __always_inline struct cs_counters *trace_other(void)
{
	__u32 zero = 0;
	struct cs_trace_stats *st = bpf_map_lookup_elem(&cs_trace_stats, &zero);
	if (st)
		st->table_full_events += 1;
	return bpf_map_lookup_elem(&cs_trace_other, &zero);
}

/* Keeps the own-namespace key on the socket (bpf_sk_storage_get for tracing programs, 5.11+;
 * NULL in hardirq or for a socket being freed: that socket's getsockopt bytes are missed). */
static __always_inline void trace_remember(const struct sock *sk, const struct cs_sock_key *key)
{
	struct cs_sock_key *kept =
		bpf_sk_storage_get(&cs_trace_sk_key, (void *)sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (kept)
		*kept = *key;
}

/* Creates the entry `key` for `sk`; with `owner`, the current task is recorded as the process
 * using it. A full table gives the "other" counters. */
static __always_inline struct cs_sock_value *trace_insert(const struct cs_sock_key *key,
							  const struct sock *sk, bool owner,
							  bool *full)
{
	__u32 zero = 0;
	struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_scratch, &zero);
	if (!v)
		return NULL;
	__builtin_memset(v, 0, sizeof(*v));
	trace_identity(&v->info, sk);
	if (owner)
		trace_owner(&v->info);
	long err = bpf_map_update_elem(&cs_trace_socks, key, v, BPF_NOEXIST);
	if (err == 0) {
		struct cs_trace_stats *st = bpf_map_lookup_elem(&cs_trace_stats, &zero);
		if (st)
			st->sockets_seen += 1;
	} else if (err != -17 /* EEXIST: created meanwhile on another CPU */) {
		*full = true;
		return NULL;
	}
	return bpf_map_lookup_elem(&cs_trace_socks, key);
}

/* The counters of an in-scope socket (its own namespace's entry), created at first sight;
 * the "other" counters when the table is full; NULL when not in scope. `sk` is a BTF pointer.
 * Process-scoped sockets are only found here once claimed. */
static __always_inline struct cs_counters *cs_trace_counters(const struct sock *sk)
{
	struct cs_sock_key key;
	if (!sk || !trace_key(sk, &key))
		return NULL;
	if (key.cookie) {
		struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
		if (v)
			return trace_counters_of(v);
	}
	if (!trace_sock_in_scope(sk, key.netns))
		return NULL;
	trace_cookie(sk, &key);
	bool full = false;
	struct cs_sock_value *v = trace_insert(&key, sk, false, &full);
	if (full)
		return trace_other();
	if (v)
		trace_remember(sk, &key);
	return trace_counters_of(v);
}

/* The counters of a socket already in the table, for an skb's socket (an RCU pointer: never
 * inserted here). An in-scope socket not found was refused by a full table (or reaped after
 * its close): its counts go to "other". */
static __always_inline struct cs_counters *cs_trace_counters_seen(const struct sock *sk)
{
	struct cs_sock_key key;
	if (!sk || !trace_key(sk, &key))
		return NULL;
	if (key.cookie) {
		struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
		if (v)
			return trace_counters_of(v);
	}
	if (!trace_sock_in_scope(sk, key.netns))
		return NULL;
	return trace_other();
}

/* counters_for_tcp_sock when tracing: TCP sockets only, as `run` counts them. */
static __always_inline struct cs_counters *cs_trace_counters_tcp(const struct sock *sk)
{
	if (!sk || BPF_CORE_READ_BITFIELD(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return cs_trace_counters(sk);
}

/* The same for a socket pointer from a probed read (zerocopy completions, error-queue
 * reads): only a socket with an entry, since one without a cookie cannot be given one here.
 * Both follow a send, which made the entry; an in-scope socket found without one is counted
 * as "other" (its sends found the table full). */
static __always_inline struct cs_counters *cs_trace_counters_probed(const struct sock *sk)
{
	struct cs_sock_key key;
	if (!trace_key_probed(sk, &key))
		return NULL;
	struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
	if (v)
		return &v->c;
	if (!trace_sock_in_scope_probed(sk, key.netns))
		return NULL;
	return trace_other();
}

/* The entry of a socket the current task uses: its process the first time (per CPU), and its
 * ports if it was first seen before connect (or before an autobind). */
static __always_inline void trace_touch(struct cs_sock_value *v, const struct sock *sk)
{
	if (!v->info.tgid)
		trace_owner(&v->info);
	if (!v->info.local_port || !v->info.remote_port)
		trace_identity(&v->info, sk);
}

/* Would the current task's use of `sk` (process context) put it in the table? By process
 * with --pid, by what the socket says of itself otherwise. */
static __always_inline bool trace_use_in_scope(const struct sock *sk, __u32 netns)
{
	if (!(cs_scope_flags & CS_SCOPE_PID))
		return trace_sock_in_scope(sk, netns);
	if (!trace_wanted_fields(sk->__sk_common.skc_family, BPF_CORE_READ_BITFIELD(sk, sk_protocol)))
		return false;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!bpf_map_lookup_elem(&cs_scope_pids, &tgid))
		return false;
	return !(cs_scope_flags & CS_SCOPE_NETNS) || bpf_map_lookup_elem(&cs_scope_netns, &netns);
}

/* The current task uses `sk` (send, receive, error-queue read: process context). Records it
 * as the socket's process the first time (per CPU), and lets a socket of a traced process
 * into the table (--pid). `sk` is the program's own argument (bpf_get_socket_cookie). */
static __always_inline void cs_trace_claim(const struct sock *sk)
{
	struct cs_sock_key key;
	if (!cs_tracing || !sk || !trace_key(sk, &key))
		return;
	struct cs_sock_value *v = key.cookie ? bpf_map_lookup_elem(&cs_trace_socks, &key) : NULL;
	if (v) {
		trace_touch(v, sk);
		return;
	}
	if (!trace_use_in_scope(sk, key.netns))
		return;
	trace_cookie(sk, &key);
	bool full = false;
	if (trace_insert(&key, sk, true, &full))
		trace_remember(sk, &key);
	else if (full)
		trace_other();
}

/* The counters for what happened in namespace `netns` to a zerocopy skb sent by `sk` (a
 * probed pointer): that namespace's entry of the socket, created under its cookie if the
 * socket is traced (its own entry exists: it was seen sending). */
static __always_inline struct cs_counters *cs_trace_counters_at(const struct sock *sk,
								 __u32 netns)
{
	struct cs_sock_key key;
	if (!trace_key_probed(sk, &key))
		return NULL;
	struct cs_sock_value *v = bpf_map_lookup_elem(&cs_trace_socks, &key);
	if (key.netns == netns)
		return trace_counters_of(v);
	if (!v)
		return NULL; /* not a traced socket */
	key.netns = netns;
	v = bpf_map_lookup_elem(&cs_trace_socks, &key);
	if (v)
		return &v->c;
	bool full = false;
	v = trace_insert(&key, sk, false, &full);
	if (full)
		return trace_other();
	return trace_counters_of(v);
}
