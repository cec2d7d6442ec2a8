// Where each connection's threads go, for each placement (no root: nothing is pinned here).
#include <gtest/gtest.h>

#include "runner/placement.h"

using namespace copyscope;

TEST(Placement, NamesRoundTrip) {
    for (CpuPlacement p :
         {CpuPlacement::auto_, CpuPlacement::none, CpuPlacement::split, CpuPlacement::pair})
        EXPECT_EQ(cpu_placement_from_string(to_string(p)), p);
    EXPECT_FALSE(cpu_placement_from_string("spread").has_value());
    EXPECT_FALSE(cpu_placement_from_string("").has_value());
}

TEST(Placement, PairPutsAConnectionOnOneCpuAndSpreadsConnections) {
    const std::vector<int> cpus = {2, 5};
    for (Role role : {Role::sender, Role::receiver}) {
        EXPECT_EQ(cpu_for(CpuPlacement::pair, role, 0, cpus), 2);
        EXPECT_EQ(cpu_for(CpuPlacement::pair, role, 1, cpus), 5);
        EXPECT_EQ(cpu_for(CpuPlacement::pair, role, 2, cpus), 2);
        EXPECT_EQ(cpu_for(CpuPlacement::pair, role, 7, cpus), 5);
    }
}

TEST(Placement, SplitSendsOnTheFirstHalfAndReceivesOnTheOther) {
    const std::vector<int> four = {0, 1, 2, 3};
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::sender, 0, four), 0);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::sender, 1, four), 1);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::sender, 2, four), 0);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::receiver, 0, four), 2);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::receiver, 1, four), 3);
    const std::vector<int> three = {0, 1, 2}; // one sends, two receive
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::sender, 1, three), 0);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::receiver, 1, three), 2);
    const std::vector<int> one = {4};
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::sender, 0, one), 4);
    EXPECT_EQ(cpu_for(CpuPlacement::split, Role::receiver, 0, one), 4);
}

TEST(Placement, NoneAndUnknownCpusLeaveItToTheScheduler) {
    EXPECT_FALSE(cpu_for(CpuPlacement::none, Role::sender, 0, {0, 1}).has_value());
    EXPECT_FALSE(cpu_for(CpuPlacement::pair, Role::sender, 0, {}).has_value());
}

TEST(Placement, AutoPairsOnTwoCpusOrMoreAndLeavesOneAlone) {
    CellSpec spec;
    EXPECT_EQ(resolve_placement(CpuPlacement::auto_, spec, 2), CpuPlacement::pair);
    EXPECT_EQ(resolve_placement(CpuPlacement::auto_, spec, 16), CpuPlacement::pair);
    EXPECT_EQ(resolve_placement(CpuPlacement::auto_, spec, 1), CpuPlacement::none);
    EXPECT_EQ(resolve_placement(CpuPlacement::split, spec, 1), CpuPlacement::split);
}

TEST(Placement, ThisProcessMayRunSomewhere) {
    EXPECT_FALSE(allowed_cpus().empty());
}
