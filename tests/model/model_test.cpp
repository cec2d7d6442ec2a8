// The shared values: kernel counts from the one counter list.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "model/kernel_counts.h"

namespace copyscope {
namespace {

TEST(KernelCounts, OneDefinitionPerBpfCounterInSlotOrder) {
    const auto defs = kernel_counters();
    ASSERT_EQ(defs.size(), size_t(CS_NR_COUNTERS));
    std::set<std::string_view> names;
    for (size_t i = 0; i < defs.size(); ++i) {
        EXPECT_EQ(defs[i].slot, int(i));
        EXPECT_TRUE(names.insert(defs[i].name).second) << defs[i].name;
        EXPECT_FALSE(defs[i].what.empty()) << defs[i].name;
    }
    EXPECT_EQ(defs[CS_RECV_BYTES].name, "recv_bytes");
    EXPECT_EQ(defs[CS_ZC_COMPLETED_COPIED].name, "zc_completed_copied");
}

TEST(KernelCounts, SlotsLandInTheirFieldsAndAddUp) {
    cs_counters raw{};
    for (int i = 0; i < CS_NR_COUNTERS; ++i)
        raw.v[i] = 100 + i;
    const KernelCounts k = to_kernel_counts(raw);
    EXPECT_EQ(k.send_calls, 100u + CS_SEND_CALLS);
    EXPECT_EQ(k.recv_bytes, 100u + CS_RECV_BYTES);
    EXPECT_EQ(k.fwd_zc_bytes, 100u + CS_FWD_ZC_BYTES);
    EXPECT_EQ(k.zc_completed_copied, 100u + CS_ZC_COMPLETED_COPIED);
    KernelCounts sum = k;
    sum += k;
    for (const KernelCounterDef& c : kernel_counters())
        EXPECT_EQ(sum.*c.field, 2 * (k.*c.field)) << c.name;
}

} // namespace
} // namespace copyscope
