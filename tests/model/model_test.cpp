// The shared values: measured-or-unsupported figures, kernel counts from the one counter
// list, hook mechanisms and namespace roles by name.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "model/cell.h"
#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/ledger.h"
#include "model/measured.h"

namespace copyscope {
namespace {

TEST(Measured, ValueWithEvidenceOrUnsupportedWithReason) {
    Measured<uint64_t> m(42, Evidence::inferred, "deferred_copy");
    ASSERT_TRUE(m);
    EXPECT_EQ(*m, 42u);
    EXPECT_EQ(m.evidence(), Evidence::inferred);
    EXPECT_EQ(m.source(), "deferred_copy");
    EXPECT_TRUE(m.reason().empty());
    Measured<uint64_t> u = Unsupported{"no BTF"};
    EXPECT_FALSE(u);
    EXPECT_EQ(u.reason(), "no BTF");
    EXPECT_EQ(u.value_or(7), 7u);
    EXPECT_FALSE(Measured<double>()); // nothing measured is not a 0
    EXPECT_EQ(Measured<double>().reason(), "not measured");
}

TEST(Measured, WithKeepsHowItWasMeasured) {
    const Measured<int> hook(1, Evidence::inferred, "x");
    const Measured<double> d = hook.with(2.5);
    EXPECT_EQ(*d, 2.5);
    EXPECT_EQ(d.evidence(), Evidence::inferred);
    EXPECT_EQ(d.source(), "x");
    const Measured<int> none = Unsupported{"why"};
    EXPECT_EQ(none.with(2.5).reason(), "why");
    EXPECT_EQ(weaker(Evidence::exact, Evidence::inferred), Evidence::inferred);
    EXPECT_EQ(weaker(Evidence::exact, Evidence::exact), Evidence::exact);
    EXPECT_EQ(evidence_from_string(to_string(Evidence::inferred)), Evidence::inferred);
}

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

TEST(Names, MechanismsModesAndRolesReadBack) {
    for (HookMechanism m :
         {HookMechanism::fentry, HookMechanism::fexit, HookMechanism::kprobe, HookMechanism::tp_btf,
          HookMechanism::tracepoint, HookMechanism::inferred, HookMechanism::userspace})
        EXPECT_EQ(hook_mechanism_from_string(to_string(m)), m);
    EXPECT_FALSE(hook_mechanism_from_string("uprobe"));
    EXPECT_EQ(hook_mode_from_string("auto"), HookMode::automatic);
    EXPECT_EQ(to_string(HookMode::prefer_tracepoints), "prefer-tracepoints");
    for (NamespaceRole r : {NamespaceRole::sender, NamespaceRole::router, NamespaceRole::receiver,
                            NamespaceRole::shared, NamespaceRole::local_sink})
        EXPECT_EQ(namespace_role_from_string(to_string(r)), r);
    EXPECT_EQ(to_string(NamespaceRole::local_sink), "local_sink");
}

TEST(Ledger, FindsItsHooks) {
    Ledger L;
    L.hooks.push_back(HookUse{hook_receive, Unsupported{"no tracepoint"}});
    ASSERT_NE(L.hook(hook_receive), nullptr);
    EXPECT_EQ(L.hook(hook_receive)->form.reason(), "no tracepoint");
    EXPECT_EQ(L.hook(hook_send), nullptr);
    EXPECT_FALSE(L.receiver_outside());
    L.receiver_in_this_kernel = false;
    EXPECT_TRUE(L.receiver_outside());
}

// 3 ms of program run time over 1.5 s of a 2-CPU machine: the share is of the busy time
// when the counters measured it, else of the window's wall time x CPUs, and says which.
TEST(TracerCost, PerByteAndShareOfCpuTime) {
    TracerCost cost;
    cost.programs = {{"cs_send", 1000, 2'000'000}, {"cs_recv", 500, 1'000'000}};
    cost.seconds = 1.5;
    cost.cpus = 2;
    EXPECT_EQ(cost.run_count(), 1500u);
    EXPECT_EQ(cost.run_time_ns(), 3'000'000u);

    const TracerCostShare busy = tracer_cost_share(cost, 1'000'000, 1.2);
    EXPECT_DOUBLE_EQ(*busy.ns_per_byte, 3.0);
    EXPECT_DOUBLE_EQ(*busy.cpu_percent, 0.25); // 3 ms of 1.2 CPU-s
    EXPECT_DOUBLE_EQ(busy.basis.cpu_seconds, 1.2);
    EXPECT_NE(busy.basis.source.find("/proc/stat"), std::string::npos) << busy.basis.source;

    const TracerCostShare wall = tracer_cost_share(cost, 1'000'000, std::nullopt);
    EXPECT_DOUBLE_EQ(wall.basis.cpu_seconds, 3.0); // 1.5 s x 2 CPUs
    EXPECT_DOUBLE_EQ(*wall.cpu_percent, 0.1);
    EXPECT_EQ(wall.basis.source, "wall time x 2 CPUs (system CPU time not measured)");
    // Busy time below /proc/stat's resolution is no basis either.
    EXPECT_DOUBLE_EQ(tracer_cost_share(cost, 1, 0.0).basis.cpu_seconds, 3.0);

    // Nothing sent, or no time at all: unsupported with the reason, never 0.
    const TracerCostShare none = tracer_cost_share(TracerCost{}, 0, std::nullopt);
    EXPECT_EQ(none.ns_per_byte.reason(), "no bytes were sent");
    EXPECT_FALSE(none.cpu_percent);
}

TEST(TracerCost, CellTakesTheCountersBusyTime) {
    CellResult cell;
    cell.app.bytes_sent = 3000;
    EXPECT_FALSE(cell.tracer_cost_share()); // not traced
    cell.tracer_cost = Measured<TracerCost>(Unsupported{"BPF_ENABLE_STATS: EPERM"});
    EXPECT_FALSE(cell.tracer_cost_share());
    TracerCost cost;
    cost.programs = {{"cs_recv", 10, 3000}};
    cost.seconds = 1;
    cost.cpus = 4;
    cell.tracer_cost = cost;
    EXPECT_DOUBLE_EQ(cell.tracer_cost_share()->basis.cpu_seconds, 4.0); // no counters
    CounterResult counters;
    SystemCounts system;
    system.cpu_time = CpuTime{};
    system.cpu_time->busy_seconds = 0.5;
    counters.system = system;
    cell.counters = counters;
    const TracerCostShare share = *cell.tracer_cost_share();
    EXPECT_DOUBLE_EQ(share.basis.cpu_seconds, 0.5);
    EXPECT_DOUBLE_EQ(*share.cpu_percent, 100.0 * 3000e-9 / 0.5);
    EXPECT_DOUBLE_EQ(*share.ns_per_byte, 1.0);
}

} // namespace
} // namespace copyscope
