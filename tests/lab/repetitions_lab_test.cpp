// A cell's repetitions in a real lab: the connections and their threads last the whole
// cell, each thread runs where the placement says, and the copy ledger still adds up
// exactly when a warm-up and several timed repetitions share one stream.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <sched.h>
#include <set>
#include <thread>

#include "runner/runner.h"
#include "support/system_probe.h"
#include "tracer/tracer.h"

using namespace copyscope;

namespace {

// Records, per watched phase, which threads took part and the CPUs each may run on.
class ThreadRecorder final : public CellObserver {
  public:
    void cell_begin(const CellSpec&, const Lab&) override { phases_.clear(); }
    void thread_begin(Role role) override {
        cpu_set_t set;
        CPU_ZERO(&set);
        sched_getaffinity(0, sizeof set, &set);
        std::set<int> cpus;
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &set)) cpus.insert(c);
        std::lock_guard lock(mu_);
        auto& seen = role == Role::sender ? senders_ : receivers_;
        seen[std::this_thread::get_id()] = cpus;
        if (++begun_ % (2 * threads_) == 1) phases_.emplace_back();
        phases_.back().insert(std::this_thread::get_id());
    }
    void set_threads(unsigned n) { threads_ = n; }

    std::mutex mu_;
    unsigned threads_ = 1;
    unsigned begun_ = 0;
    std::vector<std::set<std::thread::id>> phases_;
    std::map<std::thread::id, std::set<int>> senders_, receivers_;
};

std::string failed_checks(const CellResult& r) {
    std::string out;
    for (const auto& c : r.checks)
        if (!c.passed) out += c.name + ": " + c.detail + "\n";
    return out;
}

CellSpec timed_cell(Strategy s, uint64_t size, unsigned threads, unsigned repetitions) {
    CellSpec spec;
    spec.strategy = s;
    spec.message_size = size;
    spec.threads = threads;
    spec.duration_seconds = 0.1;
    spec.warmup_seconds = 0.1;
    spec.min_repetitions = spec.max_repetitions = repetitions;
    spec.verify_payload = true;
    return spec;
}

} // namespace

TEST(Repetitions, ShareTheCellsConnectionsAndThreads) {
    COPYSCOPE_REQUIRE_ROOT();
    ThreadRecorder recorder;
    recorder.set_threads(2);
    CellResult r = run_cell(timed_cell(Strategy::one_copy, 4096, 2, 3), {&recorder});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    EXPECT_EQ(r.throughput.samples.size(), 3u);
    EXPECT_EQ(r.app.payload_errors, 0u);
    ASSERT_EQ(recorder.phases_.size(), 3u);
    EXPECT_EQ(recorder.phases_[0].size(), 4u); // two senders, two receivers
    EXPECT_EQ(recorder.phases_[1], recorder.phases_[0]);
    EXPECT_EQ(recorder.phases_[2], recorder.phases_[0]);
}

TEST(Repetitions, PairPlacementPutsAConnectionsThreadsOnOneCpu) {
    COPYSCOPE_REQUIRE_ROOT();
    const std::vector<int> cpus = allowed_cpus();
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
    ThreadRecorder recorder;
    recorder.set_threads(2);
    RunnerOptions options;
    options.cpu_placement = CpuPlacement::pair;
    CellResult r = run_cell(timed_cell(Strategy::zero_copy, 4096, 2, 1), {&recorder}, options);
    ASSERT_TRUE(r.error.empty()) << r.error;
    std::set<std::set<int>> sender_cpus, receiver_cpus;
    for (auto& [id, set] : recorder.senders_)
        sender_cpus.insert(set);
    for (auto& [id, set] : recorder.receivers_)
        receiver_cpus.insert(set);
    // Connection 0 on the first CPU, connection 1 on the second, each pair together.
    const std::set<std::set<int>> expected = {{cpus[0]}, {cpus[1]}};
    EXPECT_EQ(sender_cpus, expected);
    EXPECT_EQ(receiver_cpus, expected);
}

TEST(Repetitions, SplitAndNonePlacements) {
    COPYSCOPE_REQUIRE_ROOT();
    const std::vector<int> cpus = allowed_cpus();
    if (cpus.size() < 2) GTEST_SKIP() << "needs two CPUs";
    ThreadRecorder split;
    split.set_threads(1);
    RunnerOptions options;
    options.cpu_placement = CpuPlacement::split;
    CellResult r = run_cell(timed_cell(Strategy::one_copy, 512, 1, 1), {&split}, options);
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(split.senders_.size(), 1u);
    ASSERT_EQ(split.receivers_.size(), 1u);
    EXPECT_EQ(split.senders_.begin()->second, std::set<int>{cpus[0]});
    EXPECT_EQ(split.receivers_.begin()->second, std::set<int>{cpus[cpus.size() / 2]});

    ThreadRecorder none;
    none.set_threads(1);
    options.cpu_placement = CpuPlacement::none;
    r = run_cell(timed_cell(Strategy::one_copy, 512, 1, 1), {&none}, options);
    ASSERT_TRUE(r.error.empty()) << r.error;
    const std::set<int> all(cpus.begin(), cpus.end());
    EXPECT_EQ(none.senders_.begin()->second, all);
    EXPECT_EQ(none.receivers_.begin()->second, all);
}

// More connections than messages: the idle ones end their phase at once.
TEST(Repetitions, ByteBoundedCellWithIdleConnections) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec;
    spec.strategy = Strategy::zero_copy;
    spec.message_size = 1000;
    spec.threads = 8;
    spec.bytes = 3000;
    spec.min_repetitions = spec.max_repetitions = 2;
    spec.verify_payload = true;
    CellResult r = run_cell(spec, {});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    EXPECT_EQ(r.app.bytes_sent, 6000u);
    EXPECT_EQ(r.app.bytes_received, 6000u);
}

// A stop request ends the cell after the current messages instead of its repetitions.
TEST(Repetitions, StopEndsTheCell) {
    COPYSCOPE_REQUIRE_ROOT();
    std::atomic<bool> stop{false};
    RunnerOptions options;
    options.stop = &stop;
    CellSpec spec = timed_cell(Strategy::one_copy, 65536, 2, 5);
    spec.duration_seconds = 60;
    std::thread stopper([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        stop = true;
    });
    const auto t0 = std::chrono::steady_clock::now();
    CellResult r = run_cell(spec, {}, options);
    stopper.join();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_LE(r.throughput.samples.size(), 1u);
    EXPECT_EQ(r.app.bytes_received, r.app.bytes_sent);
}

// The tracer watches from after the warm-up to after the last repetition: nothing of the
// warm-up may leak into its counts although the connections carry on.
class RepetitionLedger : public ::testing::TestWithParam<Strategy> {};

TEST_P(RepetitionLedger, AddsUpOverWarmupAndRepetitions) {
    COPYSCOPE_REQUIRE_ROOT();
    auto tracer = make_tracer({HookMode::automatic});
    CellResult r = run_cell(timed_cell(GetParam(), 65536, 2, 3), {tracer.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    ASSERT_TRUE(r.ledger.has_value());
    const Ledger& L = *r.ledger;
    ASSERT_TRUE(L.tracer.available) << L.tracer.reason;
    ASSERT_TRUE(L.figures.receive_copy_bytes) << L.figures.receive_copy_bytes.reason();
    EXPECT_EQ(*L.figures.receive_copy_bytes, r.app.bytes_received);
    EXPECT_EQ(r.app.bytes_received, r.app.bytes_sent);
    if (GetParam() == Strategy::zero_copy) {
        ASSERT_TRUE(L.figures.zerocopy_pinned_bytes);
        EXPECT_EQ(*L.figures.zerocopy_pinned_bytes, r.app.bytes_sent);
        ASSERT_TRUE(r.zerocopy.has_value());
        EXPECT_EQ(r.zerocopy->completions, r.zerocopy->sends);
    } else {
        ASSERT_TRUE(L.figures.kernel_send_copy_bytes);
        EXPECT_EQ(*L.figures.kernel_send_copy_bytes, r.app.bytes_sent);
    }
}

INSTANTIATE_TEST_SUITE_P(Lab, RepetitionLedger,
                         ::testing::Values(Strategy::one_copy, Strategy::zero_copy));
