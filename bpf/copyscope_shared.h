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
	  "MSG_ZEROCOPY asked but copied at send: the route has no NETIF_F_SG")                     \
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
	X(ZC_COMPLETED_COPIED, zc_completed_copied, "of those, completed as copied")               \
	/* send hook: why MSG_ZEROCOPY did not pin */                                               \
	X(ZC_NO_SOCKOPT_BYTES, zc_no_sockopt_bytes,                                                 \
	  "MSG_ZEROCOPY without SO_ZEROCOPY: copied like a plain send, no notification")            \
	X(ZC_ENOBUFS_OPTMEM, zc_enobufs_optmem,                                                     \
	  "sendmsg ENOBUFS with the socket's option memory at net.core.optmem_max")                 \
	X(ZC_ENOBUFS_OTHER, zc_enobufs_other,                                                       \
	  "sendmsg ENOBUFS under optmem_max (locked-memory limit, or freed since)")                 \
	/* pinned pages: fexit iov_iter_get_pages2 inside skb_zerocopy_iter_stream */               \
	X(PIN_CALLS, pin_calls, "iov_iter_get_pages2 calls for MSG_ZEROCOPY skbs")                  \
	X(PIN_PAGES, pin_pages, "distinct user pages they referenced, per send")                    \
	/* pinned pages, tracepoint form: the iovecs' addresses at tcp_sendmsg_locked */            \
	X(PIN_PAGES_TP, pin_pages_tp, "user pages spanned by the bytes MSG_ZEROCOPY sends pinned")  \
	X(PIN_PAGES_TP_SKIPPED_BYTES, pin_pages_tp_skipped_bytes,                                   \
	  "pinned bytes whose pages were not counted (more iovecs than the program reads)")         \
	/* retransmit hook: attempts that failed (6.17+ err argument) */                            \
	X(RETRANS_FAILED, retrans_failed, "tcp_retransmit_skb attempts that failed (not counted)")  \
	/* receive hook: user pages reaching the receive copy */                                    \
	X(RECV_ZC_FLAGGED_BYTES, recv_zc_flagged_bytes,                                             \
	  "bytes copied to a receiver from skbs still flagged zerocopy (user pages)")               \
	/* delivery hook: zerocopy skbs received, followed to TCP (tcp_probe) or a drop */          \
	X(RX_ZC_DELIVERED_BYTES, rx_zc_delivered_bytes,                                             \
	  "payload of segments received zerocopy that reached TCP unflagged (copied)")              \
	X(RX_ZC_DELIVERED_FLAGGED_BYTES, rx_zc_delivered_flagged_bytes,                             \
	  "payload of segments received zerocopy that reached TCP still flagged")                   \
	X(RX_ZC_REDELIVERED_BYTES, rx_zc_redelivered_bytes,                                         \
	  "of those, bytes TCP had received before (retransmitted, below rcv_nxt)")                 \
	X(RX_ZC_DROPPED_COPIED_BYTES, rx_zc_dropped_copied_bytes,                                   \
	  "paged bytes of skbs received zerocopy, copied, then dropped before TCP")                 \
	X(RX_ZC_DROPPED_FLAGGED_BYTES, rx_zc_dropped_flagged_bytes,                                 \
	  "paged bytes of skbs received zerocopy and dropped still flagged")                        \
	/* copy sites, exact (fexit): skb_copy_ubufs by caller; DEFERRED_BYTES is their sum */      \
	X(TAP_TX_COPY_BYTES, tap_tx_copy_bytes, "skb_copy_ubufs of a transmit tap's clone")         \
	X(TAP_RX_COPY_BYTES, tap_rx_copy_bytes, "skb_copy_ubufs at a receive tap (deliver_skb)")    \
	X(TUN_COPY_BYTES, tun_copy_bytes, "skb_copy_ubufs in tun_net_xmit")                         \
	X(TSTAMP_COPY_BYTES, tstamp_copy_bytes, "skb_copy_ubufs of a TX timestamp clone")           \
	/* copy sites, exact (fexit): copies that do not go through skb_copy_ubufs */              \
	X(GSO_NOSG_COPY_BYTES, gso_nosg_copy_bytes,                                                 \
	  "zerocopy bytes skb_segment copied into linear segments (no NETIF_F_SG)")                 \
	X(LINEARIZE_COPY_BYTES, linearize_copy_bytes,                                               \
	  "zerocopy bytes __pskb_pull_tail pulled into an skb's head")                              \
	X(SKB_COPY_BYTES, skb_copy_bytes, "paged bytes of zerocopy skbs skb_copy(_expand) copied")  \
	/* copy sites seen from tracepoints (the copy itself is inferred) */                       \
	X(XMIT_ZC_TAP_BYTES, xmit_zc_tap_bytes,                                                     \
	  "zerocopy bytes transmitted while a packet tap listened (its clone is copied)")           \
	X(RX_ZC_TAP_BYTES, rx_zc_tap_bytes,                                                         \
	  "zerocopy bytes received while a packet tap listened (copied for it)")                    \
	X(XMIT_ZC_TUN_BYTES, xmit_zc_tun_bytes, "zerocopy bytes handed to a tun device")           \
	X(XMIT_NOSG_BYTES, xmit_nosg_bytes,                                                         \
	  "payload of unflagged skbs of SO_ZEROCOPY sockets on devices without NETIF_F_SG")                \
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
	X(URING_NOTIFS_COPIED, uring_notifs_copied, "of those, with IORING_NOTIF_USAGE_ZC_COPIED") \
	/* io_uring notification classes (tp_btf io_uring_complete, bpf/uring_notif.bpf.h) */       \
	X(URING_NOTIFS_CLASSIFIED, uring_notifs_classified,                                         \
	  "SEND_ZC notifications classified (their send's CQE seen on a lab socket)")               \
	X(URING_NOTIFS_CLASSIFIED_COPIED, uring_notifs_classified_copied,                           \
	  "of those, flagged IORING_NOTIF_USAGE_ZC_COPIED")                                         \
	X(URING_NOTIFS_STACKED, uring_notifs_stacked,                                               \
	  "of those, flagged only because stacked: linked, no own skb, nothing copied (6.10+)")     \
	X(URING_NOTIFS_STACKED_BYTES, uring_notifs_stacked_bytes, "their requests' bytes")        \
	X(URING_NOTIFS_CLASSIFIED_ZC_COPIED, uring_notifs_classified_zc_copied,                     \
	  "of the flagged, with zc_copied: an skb they own (or a chain member's) was copied")      \
	/* trace: MSG_ERRQUEUE reads of the traced program (tp_btf sys_exit) */                     \
	X(ZC_READ_NOTIFICATIONS, zc_read_notifications,                                             \
	  "zerocopy notifications the program read from its error queue")                           \
	X(ZC_READ_SENDS, zc_read_sends, "sends those notifications completed")                      \
	X(ZC_READ_COPIED, zc_read_copied, "of those, in ranges flagged SO_EE_CODE_ZEROCOPY_COPIED") \
	/* udp send (fexit udp_sendmsg, or tp_btf sock_send_length; bpf/udp_zcrx.bpf.h) */      \
	X(UDP_SEND_CALLS, udp_send_calls, "udp sendmsg calls that moved bytes")                    \
	X(UDP_SEND_BYTES, udp_send_bytes, "bytes they sent")                                      \
	X(UDP_ZC_SEND_BYTES, udp_zc_send_bytes, "of those, sent with MSG_ZEROCOPY")               \
	/* udp xmit (tp_btf net_dev_start_xmit), zerocopy skbs of udp sockets */                   \
	X(UDP_XMIT_PINNED_BYTES, udp_xmit_pinned_bytes, "paged bytes of skbs with pinned pages")  \
	X(UDP_XMIT_COPIED_ZC_BYTES, udp_xmit_copied_zc_bytes,                                     \
	  "bytes of MSG_ZEROCOPY skbs copied at send (ubuf_info zerocopy bit 0)")                  \
	/* udp receive (fexit udp_recvmsg, or tp_btf sock_recv_length) */                          \
	X(UDP_RECV_CALLS, udp_recv_calls, "udp datagrams copied to a receiver")                    \
	X(UDP_RECV_BYTES, udp_recv_bytes, "their bytes")                                          \
	/* receive mapped (cgroup/getsockopt TCP_ZEROCOPY_RECEIVE) */                              \
	X(ZCRX_CALLS, zcrx_calls, "TCP_ZEROCOPY_RECEIVE calls")                                    \
	X(ZCRX_MAPPED_BYTES, zcrx_mapped_bytes, "bytes they mapped into the receiver")

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
 * many bytes that sendmsg moved. The iterator is kept as the first fire of the syscall saw
 * it (before any byte moved): the kernel's copy of the iovecs lives until the syscall
 * returns, so sock_send_length can still read them. */
struct cs_send_ctx {
	__u64 sk;
	__u32 msg_flags;
	__u32 has_ubuf; /* CS_MSG_* bits (bpf/splice_uring.bpf.h): a ubuf_info, an ITER_BVEC */
	__u64 iov;        /* struct iovec array, or the user buffer for ITER_UBUF */
	__u64 iov_offset; /* into the first iovec */
	__u32 nr_segs;    /* 0 with ITER_UBUF; 0xffffffff: another kind of iterator */
	__u32 pad;
};

#endif /* COPYSCOPE_SHARED_H */
