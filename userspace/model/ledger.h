#pragma once
// The copy ledger of one cell as a value: every byte figure with its evidence (or why it is
// unsupported), split by namespace, the answers of rr and nic kept apart, the MSG_ZEROCOPY
// notifications, copies per byte, the checks that could not be evaluated and the verdict.
// ledger/ computes it; report/ writes it as JSON and reads it back.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/app.h"
#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/measured.h"
#include "model/spec.h"

namespace copyscope {

// The byte figures the ledger gives for the whole cell and for each namespace.
struct ByteFigures {
    Measured<uint64_t> kernel_send_copy_bytes;     // copied from user memory at send time
    Measured<uint64_t> zerocopy_pinned_bytes;      // sent by reference to pinned user pages
    Measured<uint64_t> pinned_pages;               // distinct user pages those sends referenced
    Measured<uint64_t> zerocopy_fallback_bytes;    // MSG_ZEROCOPY asked, copied at send time
    Measured<uint64_t> zerocopy_no_sockopt_bytes;  // of those: no SO_ZEROCOPY on the socket
    Measured<uint64_t> zerocopy_transmitted_bytes; // zerocopy bytes leaving a device
    Measured<uint64_t> deferred_copy_bytes;        // zerocopy pages copied later (every site)
    // Where they were copied (the sites add up to deferred_copy_bytes plus
    // deferred_copy_retransmit_bytes).
    Measured<uint64_t> copy_site_receive_bytes;   // the receive path (skb_copy_ubufs)
    Measured<uint64_t> copy_site_tap_tx_bytes;    // a transmit tap's clone (AF_PACKET)
    Measured<uint64_t> copy_site_tap_rx_bytes;    // a receive tap (instead of the receive path)
    Measured<uint64_t> copy_site_tun_bytes;       // tun_net_xmit
    Measured<uint64_t> copy_site_timestamp_bytes; // a TX timestamp's clone
    Measured<uint64_t> copy_site_no_sg_bytes;     // before transmit: no scatter-gather
    Measured<uint64_t> copy_site_skb_copy_bytes;  // skb_copy/skb_copy_expand
    // Zerocopy skbs received, as TCP first saw them: copied on the way, or still user pages.
    Measured<uint64_t> delivered_copied_bytes;
    Measured<uint64_t> delivered_uncopied_bytes;
    Measured<uint64_t> receive_copy_bytes;          // copied from skbs to the receiver
    Measured<uint64_t> receive_copy_zerocopy_bytes; // of those, from user pages (uncopied)
    Measured<uint64_t> retransmit_bytes;            // sent again by TCP, kept apart
    Measured<uint64_t> spliced_bytes;               // sendfile: page-cache pages sent by reference
    Measured<uint64_t> registered_bytes;            // io_uring registered buffers sent by reference
    Measured<uint64_t> receive_mapped_bytes;        // mapped by TCP_ZEROCOPY_RECEIVE, not copied

    bool operator==(const ByteFigures&) const = default;
};

// One byte figure: its report key, the hook that counts it, its field.
struct ByteFigureDef {
    std::string_view key;
    const char* hook;
    Measured<uint64_t> ByteFigures::*field;
    // Split from the hook's exact count by the kernel's zerocopy decision rule: inferred.
    bool decision_rule = false;
};

// The source of a figure split by the decision rule: its hook's name, then this.
inline constexpr std::string_view decision_rule_source =
    ": split by the kernel's zerocopy decision rule";

inline constexpr ByteFigureDef byte_figures[] = {
    {"kernel_send_copy_bytes", hook_send, &ByteFigures::kernel_send_copy_bytes},
    {"zerocopy_pinned_bytes", hook_send, &ByteFigures::zerocopy_pinned_bytes, true},
    {"pinned_pages", hook_pinned_pages, &ByteFigures::pinned_pages},
    {"zerocopy_fallback_bytes", hook_send, &ByteFigures::zerocopy_fallback_bytes, true},
    {"zerocopy_no_sockopt_bytes", hook_send, &ByteFigures::zerocopy_no_sockopt_bytes},
    {"zerocopy_transmitted_bytes", hook_transmit, &ByteFigures::zerocopy_transmitted_bytes},
    {"deferred_copy_bytes", hook_deferred, &ByteFigures::deferred_copy_bytes},
    {"copy_site_receive_bytes", hook_deferred, &ByteFigures::copy_site_receive_bytes},
    {"copy_site_tap_tx_bytes", hook_deferred, &ByteFigures::copy_site_tap_tx_bytes},
    {"copy_site_tap_rx_bytes", hook_deferred, &ByteFigures::copy_site_tap_rx_bytes},
    {"copy_site_tun_bytes", hook_deferred, &ByteFigures::copy_site_tun_bytes},
    {"copy_site_timestamp_bytes", hook_deferred, &ByteFigures::copy_site_timestamp_bytes},
    {"copy_site_no_sg_bytes", hook_transmit_copies, &ByteFigures::copy_site_no_sg_bytes},
    {"copy_site_skb_copy_bytes", hook_transmit_copies, &ByteFigures::copy_site_skb_copy_bytes},
    {"delivered_copied_bytes", hook_delivery, &ByteFigures::delivered_copied_bytes},
    {"delivered_uncopied_bytes", hook_delivery, &ByteFigures::delivered_uncopied_bytes},
    {"receive_copy_bytes", hook_receive, &ByteFigures::receive_copy_bytes},
    {"receive_copy_zerocopy_bytes", hook_receive, &ByteFigures::receive_copy_zerocopy_bytes},
    {"retransmit_bytes", hook_retransmits, &ByteFigures::retransmit_bytes},
    {"spliced_bytes", hook_splice, &ByteFigures::spliced_bytes},
    {"registered_bytes", hook_send, &ByteFigures::registered_bytes},
    {"receive_mapped_bytes", hook_receive_mapped, &ByteFigures::receive_mapped_bytes},
};

// What one namespace (or, for nic, one set of sockets) plays in the cell.
enum class NamespaceRole {
    sender,     // sends the messages, receives the answers
    router,     // forwards; no socket of ours
    receiver,   // receives the messages, sends the answers
    shared,     // loopback: both ends in one namespace
    local_sink, // nic: a sink's sockets found in the sender's own namespace
};

std::string_view to_string(NamespaceRole r);
std::optional<NamespaceRole> namespace_role_from_string(std::string_view text);

// One namespace's share of the ledger. Its figures are the application's messages; the
// answers coming back (rr, a sink's tally) are the response_* figures.
struct NamespaceLedger {
    NamespaceRole role = NamespaceRole::sender;
    uint64_t inode = 0;
    ByteFigures figures;
    std::optional<Measured<uint64_t>> response_send_copy_bytes; // when there were answers
    std::optional<Measured<uint64_t>> response_receive_copy_bytes;
    KernelCounts raw;
    std::string note; // empty: none

    bool operator==(const NamespaceLedger&) const = default;
};

// The tracer as the ledger saw it.
struct TracerStatus {
    bool available = false;
    std::string reason;                // why not, when !available
    uint64_t missed_events = 0;        // when available: program runs the kernel skipped
    std::optional<HookMode> hook_mode; // when the BPF programs were loaded
    std::string note;                  // e.g. the preferred forms failed to load; empty: none
    std::string socket_filter;         // nic: which sockets were counted; empty: none

    bool operator==(const TracerStatus&) const = default;
};

// The answers the receiver sent back (rr answers, a sink's tally), accounted apart.
struct Responses {
    uint64_t bytes = 0;
    Measured<uint64_t> send_copy_bytes;
    Measured<uint64_t> receive_copy_bytes;
    std::string measured; // how they were told apart, in words
    std::string note;

    bool operator==(const Responses&) const = default;
};

// The kernel's own count of MSG_ZEROCOPY completions (completion hook).
struct KernelCompletions {
    uint64_t completed_sends = 0;
    uint64_t completed_copied = 0;
    HookMechanism mechanism = HookMechanism::fentry;

    bool operator==(const KernelCompletions&) const = default;
};

// The kernel's own count of io_uring SEND_ZC notifications it posted for the cell's sockets.
struct KernelUringNotifications {
    uint64_t posted = 0;
    uint64_t posted_copied = 0; // with IORING_NOTIF_USAGE_ZC_COPIED
    HookMechanism mechanism = HookMechanism::tp_btf;

    bool operator==(const KernelUringNotifications&) const = default;
};

// SEND_ZC notifications flagged IORING_NOTIF_USAGE_ZC_COPIED only because stacked (Linux
// 6.10+: io_link_skb linked the request into an earlier notification's chain, its bytes rode
// in that notification's skb, no skb of its own completed and nothing was copied), classified
// by the kernel as each notification is posted (hook io_uring_stacked).
struct StackedNotifications {
    uint64_t classified = 0;        // notifications classified (== the sender's, or unsupported)
    uint64_t classified_copied = 0; // of those, flagged COPIED
    uint64_t stacked = 0;           // of those, flagged only because stacked
    uint64_t stacked_bytes = 0;     // their requests' bytes

    bool operator==(const StackedNotifications&) const = default;
};

inline constexpr const char* stacked_notifications_what =
    "flagged COPIED because stacked (no skb of its own, nothing copied; Linux 6.10+)";

// io_uring sends: the sender's CQE reads, and the kernel's count where its hook ran.
struct UringNotifications {
    IoUringStats runner;
    std::optional<KernelUringNotifications> kernel;
    // SEND_ZC cells with the tracer: the notifications flagged COPIED because stacked.
    std::optional<Measured<StackedNotifications>> stacked;

    bool operator==(const UringNotifications&) const = default;
};

struct ZerocopyNotifications {
    ZerocopyStats runner;                    // the runner's MSG_ERRQUEUE reads
    std::string source;                      // where `runner` comes from, in words
    std::optional<KernelCompletions> kernel; // when the completion hook ran

    bool operator==(const ZerocopyNotifications&) const = default;
};

// Copies per byte, by where they happened.
struct CopiesPerByteParts {
    double user = 0;
    double kernel_send = 0;
    double zerocopy_fallback = 0;
    double deferred = 0;
    Measured<double> receive; // unsupported when the receiver is outside this kernel

    bool operator==(const CopiesPerByteParts&) const = default;
};

// What limits MSG_ZEROCOPY sends (the causes of ENOBUFS), as the sender saw them.
struct SendLimits {
    // net.core.optmem_max as the sender's namespace has it (per namespace in 6.12, one
    // global value in 6.1); its source says which.
    Measured<uint64_t> optmem_max;
    // RLIMIT_MEMLOCK (soft), bytes; nullopt: unlimited. Pinned pages are charged to it
    // unless the sender has CAP_IPC_LOCK.
    Measured<std::optional<uint64_t>> memlock_limit;
    bool cap_ipc_lock = false;

    bool operator==(const SendLimits&) const = default;
};

// The device a cell's datagrams leave by (the sender's end of the lab), as the lab read it
// back from the kernel: what __ip_append_data (net/ipv4/ip_output.c) looks at.
struct SendDevice {
    std::string name;
    unsigned mtu = 0;
    bool tx_checksum = true;    // NETIF_F_HW_CSUM or NETIF_F_IP_CSUM on (ETHTOOL_GTXCSUM)
    bool scatter_gather = true; // NETIF_F_SG on (ETHTOOL_GSG)

    bool operator==(const SendDevice&) const = default;
};

// The conditions __ip_append_data sets for pinning a MSG_ZEROCOPY datagram (CHECKSUM_PARTIAL
// and NETIF_F_SG), each as the rule a datagram that fails it breaks: then the kernel copies
// it at send and clears its ubuf_info's zerocopy bit.
enum class UdpFallbackRule {
    above_mtu,           // length + IP header > route MTU, without GSO
    corked,              // MSG_MORE or UDP_CORK without GSO, or an append to a pending datagram
    no_checksum_offload, // the device has neither NETIF_F_HW_CSUM nor NETIF_F_IP_CSUM
    no_scatter_gather,   // the device has no NETIF_F_SG
};
std::string_view to_string(UdpFallbackRule r);
std::optional<UdpFallbackRule> udp_fallback_rule_from_string(std::string_view text);

// A udp zero-copy cell: which rules its settings break, and whether the kernel did as they
// predict (every MSG_ZEROCOPY byte copied at send when one applies, none otherwise).
struct UdpZerocopySend {
    uint64_t datagram_bytes = 0; // payload of one datagram (or one GSO send)
    uint32_t gso = 0;
    bool corked = false;
    std::optional<SendDevice> device;   // nullopt: not read
    std::vector<UdpFallbackRule> rules; // empty: the datagrams should be pinned
    // The named cause: "none" or the rules in words, with its evidence; unsupported with
    // why when the bytes were not measured or disagree with the rules.
    Measured<std::string> cause;

    bool operator==(const UdpZerocopySend&) const = default;
};

// A check that could not be evaluated, and why.
struct SkippedCheck {
    std::string check;
    std::string reason;

    bool operator==(const SkippedCheck&) const = default;
};

struct Ledger {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    uint64_t app_bytes_sent = 0;
    uint64_t app_bytes_received = 0;
    uint64_t user_copy_bytes = 0;
    TracerStatus tracer;
    std::vector<HookUse> hooks;
    // The application's messages, all namespaces together.
    ByteFigures figures;
    // Re-copies at delivery of retransmitted zerocopy segments (kept with the retransmits).
    Measured<uint64_t> deferred_copy_retransmit_bytes;
    // Always true but for nic; nullopt when the tracer could not tell.
    std::optional<bool> receiver_in_this_kernel;
    std::optional<Measured<std::string>> receiver_evidence; // nic only
    std::optional<Responses> responses;                     // when there were answers
    std::vector<NamespaceLedger> by_namespace;
    std::optional<ZerocopyNotifications> zerocopy_notifications; // zero-copy cells
    std::optional<UringNotifications> io_uring_notifications;    // io_uring cells
    std::optional<SendLimits> send_limits;                       // zero-copy cells
    std::optional<UdpZerocopySend> udp_zerocopy_send;            // udp zero-copy cells
    Measured<double> copies_per_byte;
    std::optional<double> this_host_copies_per_byte; // nic
    std::optional<CopiesPerByteParts> copies_per_byte_parts;
    // What the strategy's model predicts (this host's share when the receiver is outside).
    std::optional<double> copies_per_byte_expected;
    std::optional<double> deferred_copy_percent; // of the pinned bytes
    std::vector<SkippedCheck> checks_not_evaluated;
    std::optional<std::string> verdict; // zero-copy cells, and sendfile and io_uring ones
    // The strategy's copy model in words: where each expected copy happens.
    std::optional<std::string> copy_model;

    // nic with the receiver outside this kernel: only this host's copies are seen.
    bool receiver_outside() const { return receiver_in_this_kernel == false; }
    const HookUse* hook(std::string_view name) const;

    bool operator==(const Ledger&) const = default;
};

} // namespace copyscope
