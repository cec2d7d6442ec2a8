#pragma once
// What the kernel is expected to do, as the ledger models it: how many copies a strategy
// makes per byte, where the copies of zerocopy pages are read from each form of their hooks,
// and what the kernel version changes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/app.h"
#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/spec.h"

namespace copyscope {

// Tolerance of the comparisons that involve an inferred figure (printed with them); where
// every side of a relation is counted exactly, it holds to the byte.
inline constexpr double ledger_tolerance = 0.01;

// One side's copies of zerocopy user pages after the send, by where the kernel made them.
struct CopySites {
    uint64_t receive = 0;   // skb_copy_ubufs on the receive path (local delivery; before 6.17
                            // the first receive)
    uint64_t tap_tx = 0;    // a transmit tap's clone (dev_queue_xmit_nit)
    uint64_t tap_rx = 0;    // a receive tap, instead of the receive path (deliver_skb)
    uint64_t tun = 0;       // tun_net_xmit
    uint64_t timestamp = 0; // a TX timestamp's clone
    uint64_t no_sg = 0;     // before transmit without NETIF_F_SG: segmentation, linearization
    uint64_t skb_copy = 0;  // skb_copy/skb_copy_expand of a zerocopy skb

    uint64_t total() const {
        return receive + tap_tx + tap_rx + tun + timestamp + no_sg + skb_copy;
    }
    // Copies of a clone or of a new skb, made beside a path that may still be zerocopy.
    uint64_t beside_path() const { return tap_tx + timestamp + skb_copy; }
    // Copies on the way to the receiver, which replace the zerocopy path (the skb goes on as
    // a copy).
    uint64_t on_path() const { return total() - beside_path(); }
    CopySites& operator+=(const CopySites& o);
};

// The sites as the deferred_copy hook's form and the transmit_copies hook's form read them
// (exact: the copy functions' counts; inferred: what the tracepoints saw of zerocopy skbs).
// nullopt: that hook gave no counts.
CopySites copy_sites(const KernelCounts& k, std::optional<HookMechanism> deferred,
                     std::optional<HookMechanism> transmit_copies);

// Deferred bytes per the deferred hook's mechanism: every site of that hook.
uint64_t deferred_bytes(const KernelCounts& k, std::optional<HookMechanism> mechanism);

// Copies the kernel made again of zerocopy bytes it had copied before: segments TCP had
// already received (retransmitted) and skbs dropped after their copy (sent again).
uint64_t recopied_bytes(const KernelCounts& k);

// Since 6.17 (d2527ad3a9e1 "net: preserve MSG_ZEROCOPY with forwarding") zerocopy pages are
// copied at local delivery only; before, at the first receive in any namespace. From the
// release string ("6.18.44", "7.3.4+deb13-cloud-amd64"); nullopt when it cannot be read.
std::optional<bool> copies_at_local_delivery(std::string_view kernel_release);

// Copies per byte the strategy's model predicts: user copy + kernel copy or, for
// zero-copy, the fraction of sends the kernel reported COPIED + the receive copy (left out
// when the receiver is outside this kernel). nullopt when the model cannot say: no bytes,
// zero-copy without completions, or with copies the notifications do not tell: beside the
// path (a transmit tap's clone, a TX timestamp's, skb_copy), which flag every send of their
// uarg COPIED whether or not the skb itself was copied, or in software segmentation without
// scatter-gather, which are not flagged at all. sendfile: its user copy (the fill of the
// file) and no send copy; io-uring: one send copy; io-uring-zc and -fixed: the bytes of the
// requests whose notification said COPIED (nullopt without notifications).
// scatter-gather, which are not flagged at all. `receive_as_counted` (udp, zerocopy
// receive): the receive copy is the bytes received less those mapped, per byte sent,
// instead of 1.
std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive = true,
                                               bool copies_notifications_miss = false,
                                               const std::optional<IoUringStats>& io_uring = {},
                                               bool receive_as_counted = false);

// The model in words, for the report: where each copy the model expects happens.
std::string copy_model_words(Strategy s, bool with_receive = true);

} // namespace copyscope
