// Nothing outlives the process: after a normal end, SIGINT, SIGTERM or SIGKILL, the
// machine has the network namespaces and veth links it had before.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "support/run_binary.h"
#include "support/system_probe.h"

using namespace copyscope::testsupport;

namespace {

// Waits until `pid` holds at least `count` network namespaces of its own (the lab is up).
bool wait_for_lab(pid_t pid, size_t count, std::set<uint64_t> before) {
    for (int i = 0; i < 500; ++i) {
        size_t fresh = 0;
        for (uint64_t ino : net_namespaces_of(pid)) fresh += before.count(ino) == 0;
        if (fresh >= count) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
}

// The kernel tears namespaces down asynchronously; what matters is that nothing can
// reach them any more, which visible_net_namespaces() sees at once.
void expect_back_to(const std::set<uint64_t>& before, int veth_before) {
    EXPECT_EQ(visible_net_namespaces(), before);
    EXPECT_EQ(veth_links_here(), veth_before);
}

} // namespace

TEST(Leaks, NormalRunLeavesNothing) {
    COPYSCOPE_REQUIRE_ROOT();
    auto before = visible_net_namespaces();
    int veth = veth_links_here();
    std::string out = temp_path("normal.json");
    auto r = run_copyscope({"run", "--strategy", "one-copy,zero-copy", "--size", "4K",
                            "--threads", "2", "--bytes", "8M", "-o", out, "--quiet",
                            "--no-trace", "--counters", "none"});
    EXPECT_EQ(r.status, 0) << r.err;
    expect_back_to(before, veth);
    std::ifstream in(out);
    auto report = nlohmann::json::parse(in);
    EXPECT_TRUE(report["complete"]);
    EXPECT_EQ(report["cells"].size(), 2u);
    std::filesystem::remove(out);
}

class KilledRun : public ::testing::TestWithParam<int> {};

TEST_P(KilledRun, LeavesNothingBehind) {
    COPYSCOPE_REQUIRE_ROOT();
    const int sig = GetParam();
    auto before = visible_net_namespaces();
    int veth = veth_links_here();
    std::string out = temp_path("killed.json");
    std::filesystem::remove(out);
    pid_t pid = spawn_copyscope({"run", "--strategy", "one-copy,zero-copy", "--size", "64K",
                                 "--threads", "2", "--duration", "30", "-o", out,
                                 "--no-trace", "--counters", "none"});
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(wait_for_lab(pid, 2, before)) << "the lab never came up";
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // traffic flowing
    kill(pid, sig);
    int status = wait_for(pid, 60);
    expect_back_to(before, veth);
    if (sig == SIGKILL) {
        EXPECT_EQ(status, 128 + SIGKILL);
        EXPECT_FALSE(std::filesystem::exists(out)); // never a half-written report
    } else {
        // Stopped cleanly: a complete JSON document, marked incomplete.
        EXPECT_EQ(status, 128 + sig);
        std::ifstream in(out);
        auto report = nlohmann::json::parse(in);
        EXPECT_FALSE(report["complete"]);
        EXPECT_TRUE(report["interrupted"].is_string());
        std::filesystem::remove(out);
    }
}

INSTANTIATE_TEST_SUITE_P(Signals, KilledRun, ::testing::Values(SIGINT, SIGTERM, SIGKILL),
                         [](const ::testing::TestParamInfo<int>& i) {
                             return std::string(sigabbrev_np(i.param));
                         });
