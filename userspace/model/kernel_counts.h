#pragma once
// Kernel-side counts of one network namespace, as the BPF programs keep them. The fields
// come from CS_COUNTER_LIST in bpf/copyscope_shared.h: one list for the kernel and here.
#include <cstdint>
#include <span>
#include <string_view>

#include "copyscope_shared.h"

namespace copyscope {

struct KernelCounts {
#define CS_KERNEL_COUNT_FIELD(NAME, name, what) uint64_t name = 0;
    CS_COUNTER_LIST(CS_KERNEL_COUNT_FIELD)
#undef CS_KERNEL_COUNT_FIELD

    KernelCounts& operator+=(const KernelCounts& other);
    bool operator==(const KernelCounts&) const = default;
};

// One counter: its name (the report's "raw" key), what it counts, its field and its slot
// in the BPF map's value.
struct KernelCounterDef {
    std::string_view name;
    std::string_view what;
    uint64_t KernelCounts::*field;
    int slot;
};

// Every counter, in slot order.
std::span<const KernelCounterDef> kernel_counters();

// One slot's value of the BPF counter map (one CPU's share, or a sum) as KernelCounts.
KernelCounts to_kernel_counts(const cs_counters& raw);

// `all` with the send hook's counters taken from `send` (what another form of the send hook
// counted apart, with --hooks both).
KernelCounts with_send_counts(const KernelCounts& all, const KernelCounts& send);

} // namespace copyscope
