/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by bpf/sockets.bpf.h and userspace/trace: `copyscope trace`'s per-socket table.
 *
 * One entry per socket in scope and per network namespace its bytes were seen in: the
 * socket's own namespace holds everything the socket did (the counters of CS_COUNTER_LIST,
 * counted by the same programs `run` uses); another namespace holds what happened there to
 * its zerocopy skbs (received, forwarded on, copied later). The value is per CPU, like the
 * counters of `run`, and summed by userspace. */
#ifndef COPYSCOPE_SOCKETS_SHARED_H
#define COPYSCOPE_SOCKETS_SHARED_H

#include "copyscope_shared.h"

/* What is in scope (cs_scope_flags). Several flags: all must hold. */
#define CS_SCOPE_CGROUP 1u /* the socket's cgroup v2 is the scope's cgroup or below it */
#define CS_SCOPE_NETNS 2u  /* the socket's network namespace is in cs_scope_netns */
#define CS_SCOPE_PID 4u    /* a process of cs_scope_pids used the socket (and its children) */

#define CS_TRACE_COMM_LEN 16

/* cs_sock_info.flags */
#define CS_SOCK_CLOSED 1u /* TCP reached TCP_CLOSE (inet_sock_set_state) */

/* A socket, by its cookie (sk_cookie, what SO_COOKIE and sock_diag give): unique for the
 * life of the machine, so a socket made later in a freed socket's memory is a new entry. Not
 * its addresses and ports: they change over its life (a connect after the first sight,
 * autobind), and one socket must stay one entry. */
struct cs_sock_key {
	__u64 cookie; /* never 0 in the table */
	__u32 netns; /* where these counts happened (net->ns.inum) */
	__u32 pad;
};

struct cs_sock_info {
	__u64 cgroup_id;   /* the socket's cgroup v2 (kn->id); 0 unknown */
	__u64 closed_ns;   /* bpf_ktime_get_ns() at TCP_CLOSE */
	__u32 tgid;        /* the first process seen using it; 0 not yet (this CPU's copy) */
	__u32 netns;       /* the socket's own namespace */
	__u32 flags;       /* CS_SOCK_* */
	__u16 family;      /* AF_INET, AF_INET6 */
	__u16 protocol;    /* IPPROTO_TCP, IPPROTO_UDP */
	__u16 local_port;  /* host order */
	__u16 remote_port; /* host order */
	__u8 local_addr[16];  /* IPv4: the first 4 bytes */
	__u8 remote_addr[16];
	char comm[CS_TRACE_COMM_LEN];
};

struct cs_sock_value {
	struct cs_sock_info info; /* written on the CPU that saw it; zero on the others */
	struct cs_counters c;
};

/* What did not fit, per CPU: counts of in-scope sockets that found the table full go to
 * cs_trace_other (a struct cs_counters), and each such event is counted here. */
struct cs_trace_stats {
	__u64 table_full_events;
	__u64 sockets_seen;          /* entries created */
	__u64 errqueue_msgs_skipped; /* recvmmsg messages beyond the ones parsed per call */
};

#endif /* COPYSCOPE_SOCKETS_SHARED_H */
