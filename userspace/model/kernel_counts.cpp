#include "model/kernel_counts.h"

namespace copyscope {
namespace {

constexpr KernelCounterDef counter_defs[] = {
#define CS_KERNEL_COUNT_DEF(NAME, name, what) {#name, what, &KernelCounts::name, CS_##NAME},
    CS_COUNTER_LIST(CS_KERNEL_COUNT_DEF)
#undef CS_KERNEL_COUNT_DEF
};
static_assert(std::size(counter_defs) == CS_NR_COUNTERS, "one definition per BPF counter");

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

} // namespace copyscope
