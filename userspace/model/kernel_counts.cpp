#include "model/kernel_counts.h"

namespace copyscope {
namespace {

constexpr KernelCounterDef counter_defs[] = {
#define CS_KERNEL_COUNT_DEF(NAME, name, what) {#name, what, &KernelCounts::name, CS_##NAME},
    CS_COUNTER_LIST(CS_KERNEL_COUNT_DEF)
#undef CS_KERNEL_COUNT_DEF
};
static_assert(std::size(counter_defs) == CS_NR_COUNTERS, "one definition per BPF counter");

// The counters the send programs write (count_send, count_enobufs).
constexpr uint64_t KernelCounts::*send_counters[] = {
    &KernelCounts::send_calls,
    &KernelCounts::send_bytes,
    &KernelCounts::send_copy_bytes,
    &KernelCounts::zc_send_calls,
    &KernelCounts::zc_pinned_bytes,
    &KernelCounts::zc_fallback_bytes,
    &KernelCounts::send_unclassified_bytes,
    &KernelCounts::zc_no_sockopt_bytes,
    &KernelCounts::zc_enobufs_optmem,
    &KernelCounts::zc_enobufs_other,
};

} // namespace

KernelCounts& KernelCounts::operator+=(const KernelCounts& other) {
    for (const KernelCounterDef& c : counter_defs)
        this->*c.field += other.*c.field;
    return *this;
}

std::span<const KernelCounterDef> kernel_counters() {
    return counter_defs;
}

KernelCounts to_kernel_counts(const cs_counters& raw) {
    KernelCounts k;
    for (const KernelCounterDef& c : counter_defs)
        k.*c.field = raw.v[c.slot];
    return k;
}

KernelCounts with_send_counts(const KernelCounts& all, const KernelCounts& send) {
    KernelCounts k = all;
    for (auto field : send_counters)
        k.*field = send.*field;
    return k;
}

} // namespace copyscope
