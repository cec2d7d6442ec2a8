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

/* The counters, written once: CS_COUNTER_LIST(X) calls X(NAME, name, what) for each, in slot
 * order. NAME makes the enum below (CS_SEND_CALLS, ...); userspace makes from the same list
 * its KernelCounts fields and the report's "raw" keys (name). Adding a counter here is all
 * the plumbing it needs; the program that counts it and the ledger that reads it remain.
 *
 * Each counter is written by exactly one program, so a softirq program that interrupts a
 * process-context one on the same CPU never races on the same word. */
#define CS_COUNTER_LIST(X)                                                                        \
	/* send hook (fexit tcp_sendmsg_locked, or tp_btf tcp_sendmsg_locked + sock_send_length) */ \
	X(SEND_CALLS, send_calls, "sendmsg calls that moved bytes")                                 \
	X(SEND_BYTES, send_bytes, "bytes the kernel accepted (sendmsg return values)")              \
	X(SEND_COPY_BYTES, send_copy_bytes, "of those, copied into skbs (no MSG_ZEROCOPY)")         \
	X(ZC_SEND_CALLS, zc_send_calls, "sendmsg calls with MSG_ZEROCOPY")                          \
	X(ZC_PINNED_BYTES, zc_pinned_bytes, "MSG_ZEROCOPY honoured: user pages pinned")             \
	X(ZC_FALLBACK_BYTES, zc_fallback_bytes,                                                     \
	  "MSG_ZEROCOPY asked but copied (no SOCK_ZEROCOPY or no NETIF_F_SG)")                      \
	X(SEND_UNCLASSIFIED_BYTES, send_unclassified_bytes,                                         \
	  "accepted bytes whose send path was not seen")                                            \
	/* xmit hook (tp_btf net_dev_start_xmit), zerocopy skbs only */                             \
	X(XMIT_ZC_SKBS, xmit_zc_skbs, "zerocopy skbs leaving a namespace from a local socket")      \
	X(XMIT_ZC_BYTES, xmit_zc_bytes, "their paged bytes")                                        \
	X(XMIT_ZC_PAGES, xmit_zc_pages, "pages spanned by their fragments")                         \
	X(FWD_ZC_BYTES, fwd_zc_bytes, "zerocopy bytes forwarded on (no socket at xmit)")            \
	/* rx hook (tp_btf netif_receive_skb), zerocopy skbs only */                                \
	X(RX_ZC_SKBS, rx_zc_skbs, "zerocopy skbs received")                                         \
	X(RX_ZC_BYTES, rx_zc_bytes, "their paged bytes")                                            \
	/* deferred hook (fexit skb_copy_ubufs) */                                                  \
	X(DEFERRED_CALLS, deferred_calls, "skb_copy_ubufs calls that succeeded")                    \
	X(DEFERRED_BYTES, deferred_bytes, "bytes in the fragments they replaced")                   \
	/* receive hook (tp_btf skb_copy_datagram_iovec) */                                         \
	X(RECV_CALLS, recv_calls, "copies from skbs to a receiver's iovec")                         \
	X(RECV_BYTES, recv_bytes, "bytes they copied")                                              \
	/* retransmit hook (tp_btf tcp_retransmit_skb) */                                           \
	X(RETRANS_SEGS, retrans_segs, "segments TCP sent again")                                    \
	X(RETRANS_BYTES, retrans_bytes, "their payload bytes")                                      \
	/* completion hook (fentry msg_zerocopy_complete / msg_zerocopy_callback) */                \
	X(ZC_COMPLETED_SENDS, zc_completed_sends, "MSG_ZEROCOPY sends whose completion was queued") \
	X(ZC_COMPLETED_COPIED, zc_completed_copied, "of those, completed as copied")              \
	/* splice hook (sendfile): the send hook's MSG_SPLICE_PAGES (6.5+), fexit do_tcp_sendpages \
	 * (6.1) */                                                                                 \
	X(SPLICE_CALLS, splice_calls, "sends that carried page-cache pages (sendfile, splice)")    \
	X(SPLICE_BYTES, splice_bytes, "their bytes attached to skbs by page reference")            \
	X(SPLICE_COPIED_BYTES, splice_copied_bytes,                                                 \
	  "MSG_SPLICE_PAGES on a route without NETIF_F_SG: copied (also in send_copy_bytes)")      \
	/* send hook: io_uring SEND_ZC from registered buffers (ITER_BVEC with a ubuf_info) */      \
	X(REG_ZC_BYTES, reg_zc_bytes,                                                               \
	  "io_uring registered buffers sent by reference (pinned at registration, not per send)")  \
	/* io_uring notification hook (tp_btf io_uring_complete, joined at tcp_sendmsg_locked) */   \
	X(URING_NOTIFS, uring_notifs, "io_uring SEND_ZC notifications posted for the lab's sends")  \
	X(URING_NOTIFS_COPIED, uring_notifs_copied, "of those, with IORING_NOTIF_USAGE_ZC_COPIED")

enum cs_counter {
#define CS_COUNTER_ENUM(NAME, name, what) CS_##NAME,
	CS_COUNTER_LIST(CS_COUNTER_ENUM)
#undef CS_COUNTER_ENUM
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
	__u32 has_ubuf; /* CS_MSG_* bits (bpf/splice_uring.bpf.h): a ubuf_info, an ITER_BVEC */
};

#endif /* COPYSCOPE_SHARED_H */
