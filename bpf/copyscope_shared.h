/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Shared by bpf/copyscope.bpf.c and userspace/tracer: the map layout and the counters.
 * Counters live in a per-CPU array, one slot per lab namespace; userspace fills the
 * namespace filter (inode number -> slot) and sums the CPUs between cells. */
#ifndef COPYSCOPE_SHARED_H
#define COPYSCOPE_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CS_MAX_NAMESPACES 8

/* Each counter is written by exactly one program, so a softirq program that interrupts a
 * process-context one on the same CPU never races on the same word. */
enum cs_counter {
	/* send hook (fexit tcp_sendmsg_locked, or tp_btf tcp_sendmsg_locked + sock_send_length) */
	CS_SEND_CALLS,
	CS_SEND_BYTES,           /* bytes the kernel accepted (sendmsg return values) */
	CS_SEND_COPY_BYTES,      /* of those, copied into skbs (no MSG_ZEROCOPY) */
	CS_ZC_SEND_CALLS,        /* sendmsg calls with MSG_ZEROCOPY */
	CS_ZC_PINNED_BYTES,      /* MSG_ZEROCOPY honoured: user pages pinned */
	CS_ZC_FALLBACK_BYTES,    /* MSG_ZEROCOPY asked but copied (no SOCK_ZEROCOPY or no NETIF_F_SG) */
	CS_SEND_UNCLASSIFIED_BYTES, /* accepted bytes whose send path was not seen */
	/* xmit hook (tp_btf net_dev_start_xmit), zerocopy skbs only */
	CS_XMIT_ZC_SKBS,         /* leaving a namespace from a local socket */
	CS_XMIT_ZC_BYTES,        /* their paged bytes */
	CS_XMIT_ZC_PAGES,        /* pages spanned by their fragments */
	CS_FWD_ZC_BYTES,         /* zerocopy skbs forwarded on (no socket at xmit) */
	/* rx hook (tp_btf netif_receive_skb), zerocopy skbs only */
	CS_RX_ZC_SKBS,
	CS_RX_ZC_BYTES,
	/* deferred hook (fexit skb_copy_ubufs) */
	CS_DEFERRED_CALLS,
	CS_DEFERRED_BYTES,
	/* receive hook (tp_btf skb_copy_datagram_iovec) */
	CS_RECV_CALLS,
	CS_RECV_BYTES,
	/* retransmit hook (tp_btf tcp_retransmit_skb) */
	CS_RETRANS_SEGS,
	CS_RETRANS_BYTES,
	/* completion hook (fentry msg_zerocopy_complete / msg_zerocopy_callback) */
	CS_ZC_COMPLETED_SENDS,
	CS_ZC_COMPLETED_COPIED,
	CS_NR_COUNTERS
};

struct cs_counters {
	__u64 v[CS_NR_COUNTERS];
};

/* cs_ns_filter's value: where a watched namespace's counts go. A lab namespace is ours
 * alone (peer_port 0: every TCP socket in it counts). The nic transport runs in the host's
 * own namespace, shared with everything else: there socket counts are kept only for TCP
 * sockets connected to peer_addr:peer_port (ours, into slot) or bound to it (a sink running
 * in this namespace, into peer_slot). Device-level counts always go to slot. */
struct cs_ns_entry {
	__u32 slot;
	__u32 peer_slot;
	__u32 peer_addr; /* IPv4, network byte order */
	__u16 peer_port; /* host byte order; 0: no socket filter */
	__u16 pad;
};

/* What tcp_sendmsg_locked's tracepoint saw, per task, until sock_send_length reports how
 * many bytes that sendmsg moved. */
struct cs_send_ctx {
	__u64 sk;
	__u32 msg_flags;
	__u32 has_ubuf;
};

#endif /* COPYSCOPE_SHARED_H */
