// What the copy ledger must show on this machine's kernel, on real cells in real labs
// (root: namespaces, veth, BPF). See docs/ledger.md and docs/hooks.md.
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "report/ledger_json.h"
#include "runner/runner.h"
#include "runner/sink.h"
#include "support/run_binary.h"
#include "support/system_probe.h"
#include "tracer/bpf_tracer.h"
#include "tracer/tracer.h"

namespace copyscope {
namespace {

constexpr uint64_t MiB = 1 << 20;

std::string strategy_name(Strategy s) {
    return std::string(to_string(s));
}

// Our programs are all named cs_*: what `bpftool prog` lists of them.
std::string our_programs_in_bpftool() {
    std::string out;
    FILE* p =
        popen("bpftool prog show 2>/dev/null || /usr/sbin/bpftool prog show 2>/dev/null", "r");
    if (!p) return "popen failed";
    std::array<char, 512> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) {
        std::string line(buf.data());
        if (line.find(" name cs_") != std::string::npos) out += line;
    }
    pclose(p);
    return out;
}

// A program goes when its last reference does; the kernel frees tracing programs and links
// after an RCU grace period, so give it a moment before calling anything left over.
std::string our_programs_after_release() {
    std::string left;
    for (int i = 0; i < 100; ++i) {
        left = our_programs_in_bpftool();
        if (left.empty()) break;
        usleep(50 * 1000);
    }
    return left;
}

std::string failed_checks(const CellResult& r) {
    std::string out;
    for (const auto& c : r.checks)
        if (!c.passed) out += c.name + ": " + c.detail + "\n";
    return out;
}

// The ledger as the report writes it.
nlohmann::json ledger_json(const CellResult& r) {
    return r.ledger ? to_json(*r.ledger) : nlohmann::json(nullptr);
}

uint64_t u64(const nlohmann::json& j, const char* key) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << j.dump();
    return j.value(key, uint64_t{0});
}

class TracerLab : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!testsupport::running_as_root()) return;
        tracer_ = make_tracer({HookMode::automatic}).release();
    }
    static void TearDownTestSuite() {
        delete tracer_;
        tracer_ = nullptr;
    }
    static CellObserver* tracer_;
};
CellObserver* TracerLab::tracer_ = nullptr;

struct CellCase {
    Strategy strategy;
    uint64_t size;
    unsigned threads;
};

std::string case_name(const ::testing::TestParamInfo<CellCase>& info) {
    std::string s = strategy_name(info.param.strategy);
    for (auto& c : s)
        if (c == '-') c = '_';
    return s + "_" + std::to_string(info.param.size) + "B_" + std::to_string(info.param.threads) +
           "t";
}

class TracerCell : public TracerLab, public ::testing::WithParamInterface<CellCase> {};

// Copies per byte, exact receive copies, deferred copies and the verdict, per strategy.
TEST_P(TracerCell, LedgerHoldsOnThisKernel) {
    COPYSCOPE_REQUIRE_ROOT();
    const CellCase c = GetParam();
    CellSpec spec;
    spec.strategy = c.strategy;
    spec.transport = Transport::veth;
    spec.message_size = c.size;
    spec.threads = c.threads;
    // Small messages are slow per byte (per-field 256 B: ~5 MB/s here): fewer bytes.
    spec.bytes = c.size >= 65536 ? 64 * MiB : 4 * MiB;
    CellResult r = run_cell(spec, {tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    const nlohmann::json L = ledger_json(r);
    ASSERT_TRUE(L.is_object());
    ASSERT_TRUE(L["tracer"]["available"].get<bool>()) << L["tracer"].dump();
    EXPECT_EQ(failed_checks(r), "");

    // Receive copy bytes == bytes received, exactly.
    EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.bytes_received);
    EXPECT_EQ(u64(L["by_namespace"]["receiver"], "receive_copy_bytes"), r.app.bytes_received);
    EXPECT_EQ(u64(L["by_namespace"]["sender"], "receive_copy_bytes"), 0u);

    const double expected_cpb = c.strategy == Strategy::two_copy ? 3.0 : 2.0;
    const double cpb = L["copies_per_byte"].get<double>();
    EXPECT_NEAR(cpb, expected_cpb, 0.01 * expected_cpb);

    const uint64_t deferred = u64(L, "deferred_copy_bytes");
    if (c.strategy == Strategy::zero_copy) {
        const uint64_t pinned = u64(L, "zerocopy_pinned_bytes");
        const uint64_t retrans = u64(L, "retransmit_bytes");
        EXPECT_EQ(pinned, r.app.bytes_sent); // veth has scatter-gather: nothing falls back
        EXPECT_LE(std::fabs(double(deferred) - double(pinned)), 0.01 * pinned + retrans)
            << "deferred " << deferred << " pinned " << pinned;
        EXPECT_EQ(u64(L["by_namespace"]["receiver"], "deferred_copy_bytes"), deferred);
        EXPECT_GT(u64(L, "pinned_pages"), 0u);
        ASSERT_TRUE(r.zerocopy.has_value());
        EXPECT_GT(r.zerocopy->completions, 0u);
        EXPECT_EQ(r.zerocopy->completions_copied, r.zerocopy->completions);
        const std::string verdict = L["verdict"].get<std::string>();
        EXPECT_NE(verdict.find("not effective"), std::string::npos) << verdict;
        EXPECT_NE(verdict.find("receiver's namespace"), std::string::npos) << verdict;
        EXPECT_NEAR(L["deferred_copy_percent"].get<double>(), 100.0, 1.0);
    } else {
        EXPECT_EQ(deferred, 0u);
        EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), 0u);
        EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), r.app.bytes_sent);
        EXPECT_TRUE(L["verdict"].is_null());
    }
}

std::vector<CellCase> all_cases() {
    std::vector<CellCase> v;
    for (Strategy s : all_strategies)
        for (uint64_t size : {uint64_t{65536}, uint64_t{256}})
            for (unsigned t : {1u, 2u})
                v.push_back({s, size, t});
    return v;
}

INSTANTIATE_TEST_SUITE_P(Veth, TracerCell, ::testing::ValuesIn(all_cases()), case_name);

std::string bpf_stats_sysctl() {
    std::ifstream in("/proc/sys/kernel/bpf_stats_enabled");
    std::string v;
    in >> v;
    return v;
}

// This process's fds that hold the kernel's BPF run-time statistics on.
int bpf_stats_fds() {
    int n = 0;
    for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        if (std::filesystem::read_symlink(fd.path(), ec).string() == "anon_inode:bpf-stats") ++n;
    }
    return n;
}

// Sees, from inside the cell's traffic, whether the statistics are held on.
class StatsWitness final : public CellObserver {
  public:
    void thread_begin(Role) override {
        std::lock_guard lock(mu_);
        fds_ = bpf_stats_fds();
    }
    std::mutex mu_;
    int fds_ = 0;
};

// The programs' own cost: the kernel's run-time statistics are held on by an fd while the
// cell runs and not after it (no bpf-stats fd left; the kernel.bpf_stats_enabled sysctl,
// which only shows what was written to it, as it was); the send and receive programs ran,
// and their time is a share of the cell's CPU time.
TEST_F(TracerLab, SelfCostOfTheProgramsDuringTheCell) {
    COPYSCOPE_REQUIRE_ROOT();
    const std::string before = bpf_stats_sysctl();
    ASSERT_EQ(bpf_stats_fds(), 0);
    StatsWitness witness;
    CellSpec spec;
    spec.strategy = Strategy::one_copy;
    spec.message_size = 65536;
    spec.bytes = 16 * MiB;
    CellResult r = run_cell(spec, {tracer_, &witness});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(witness.fds_, 1);
    EXPECT_EQ(bpf_stats_fds(), 0);
    EXPECT_EQ(bpf_stats_sysctl(), before);

    ASSERT_TRUE(r.tracer_cost.has_value());
    ASSERT_TRUE(*r.tracer_cost) << r.tracer_cost->reason();
    const TracerCost& cost = **r.tracer_cost;
    uint64_t send_runs = 0, recv_runs = 0;
    for (const ProgramCost& p : cost.programs) {
        if (p.name.rfind("cs_send", 0) == 0) send_runs += p.run_count;
        if (p.name == "cs_recv") recv_runs += p.run_count;
        if (p.run_count > 0) {
            EXPECT_GT(p.run_time_ns, 0u) << p.name;
        }
    }
    // 256 sends of 64 KiB at least; receives as the receiver's reads come.
    EXPECT_GE(send_runs, 256u);
    EXPECT_GT(recv_runs, 0u);
    const TracerCostShare share = *r.tracer_cost_share();
    ASSERT_TRUE(share.cpu_percent) << share.cpu_percent.reason();
    EXPECT_GT(*share.cpu_percent, 0);
    EXPECT_LT(*share.cpu_percent, 100);
    EXPECT_GT(*share.ns_per_byte, 0);
}

// This kernel refuses fentry/fexit: the hooks must say which fallback they took.
TEST_F(TracerLab, HooksNameTheirMechanism) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec;
    spec.strategy = Strategy::zero_copy;
    spec.message_size = 65536;
    spec.bytes = 8 * MiB;
    CellResult r = run_cell(spec, {tracer_});
    const nlohmann::json hooks = ledger_json(r)["hooks"];
    for (const char* h : all_hooks) {
        ASSERT_TRUE(hooks.contains(h)) << h;
        EXPECT_TRUE(hooks[h].contains("mechanism")) << h << ": " << hooks[h].dump();
        EXPECT_TRUE(hooks[h]["count"] == "exact" || hooks[h]["count"] == "inferred") << h;
    }
    const ProbeResult& fexit = kernel_features().probe(AttachKind::fexit, "tcp_sendmsg_locked");
    EXPECT_EQ(hooks[hook_send]["mechanism"], fexit.ok ? "fexit" : "tp_btf");
    EXPECT_EQ(hooks[hook_deferred]["count"], fexit.ok ? "exact" : "inferred");
}

// Forced tracepoint forms give the same ledger (here they are what auto picks anyway).
TEST_F(TracerLab, PreferTracepointsMode) {
    COPYSCOPE_REQUIRE_ROOT();
    auto tp = make_tracer({HookMode::prefer_tracepoints});
    CellSpec spec;
    spec.strategy = Strategy::zero_copy;
    spec.message_size = 65536;
    spec.bytes = 16 * MiB;
    CellResult r = run_cell(spec, {tp.get()});
    EXPECT_EQ(failed_checks(r), "");
    EXPECT_EQ(ledger_json(r)["tracer"]["hook_mode"], "prefer-tracepoints");
    EXPECT_EQ(ledger_json(r)["hooks"][hook_send]["mechanism"], "tp_btf");
    EXPECT_EQ(ledger_json(r)["hooks"][hook_deferred]["mechanism"], "inferred");
    EXPECT_EQ(ledger_json(r)["hooks"][hook_completions]["mechanism"], "userspace");
}

// Two runs at once in separate labs, each with its own tracer: each ledger counts only its
// own bytes. Different byte counts make any cross-counting visible.
TEST_F(TracerLab, ConcurrentLabsCountOnlyTheirOwnBytes) {
    COPYSCOPE_REQUIRE_ROOT();
    auto run = [](Strategy s, uint64_t bytes) {
        auto tracer = make_tracer({HookMode::automatic});
        CellSpec spec;
        spec.strategy = s;
        spec.message_size = 65536;
        spec.bytes = bytes;
        return run_cell(spec, {tracer.get()});
    };
    auto a = std::async(std::launch::async, run, Strategy::one_copy, 96 * MiB);
    auto b = std::async(std::launch::async, run, Strategy::zero_copy, 40 * MiB);
    CellResult ra = a.get(), rb = b.get();
    for (const CellResult* r : {&ra, &rb}) {
        EXPECT_EQ(failed_checks(*r), "");
        EXPECT_EQ(u64(ledger_json(*r), "receive_copy_bytes"), r->app.bytes_received);
        const uint64_t sent = u64(ledger_json(*r), "kernel_send_copy_bytes") +
                              u64(ledger_json(*r), "zerocopy_pinned_bytes") +
                              u64(ledger_json(*r), "zerocopy_fallback_bytes");
        EXPECT_EQ(sent, r->app.bytes_sent);
    }
    EXPECT_EQ(u64(ledger_json(ra), "zerocopy_pinned_bytes"), 0u); // b's zerocopy bytes stay in b
    EXPECT_EQ(u64(ledger_json(ra), "deferred_copy_bytes"), 0u);
    EXPECT_EQ(u64(ledger_json(rb), "kernel_send_copy_bytes"), 0u); // a's copies stay in a
    EXPECT_NE(ledger_json(ra)["by_namespace"]["sender"]["inode"],
              ledger_json(rb)["by_namespace"]["sender"]["inode"]);
}

// The same through the binary, as users run it: two `copyscope run` at once, each in its
// own lab with its own tracer; then nothing of ours stays loaded.
TEST(TracerBinary, TwoRunsAtOnceCountOnlyTheirOwnBytes) {
    COPYSCOPE_REQUIRE_ROOT();
    const std::string out_a = testsupport::temp_path("tracer-a.json");
    const std::string out_b = testsupport::temp_path("tracer-b.json");
    auto run = [](std::vector<std::string> args) { return testsupport::run_copyscope(args, 300); };
    auto a = std::async(std::launch::async, run,
                        std::vector<std::string>{"run", "--strategy", "one-copy", "--size", "64KiB",
                                                 "--threads", "1", "--bytes", "96MiB",
                                                 "--transport", "veth", "-o", out_a, "--quiet"});
    auto b = std::async(std::launch::async, run,
                        std::vector<std::string>{"run", "--strategy", "zero-copy", "--size",
                                                 "64KiB", "--threads", "2", "--bytes", "40MiB",
                                                 "--transport", "veth", "-o", out_b, "--quiet"});
    const auto ra = a.get(), rb = b.get();
    ASSERT_EQ(ra.status, 0) << ra.err;
    ASSERT_EQ(rb.status, 0) << rb.err;
    auto load = [](const std::string& path) {
        std::ifstream f(path);
        return nlohmann::json::parse(f);
    };
    const nlohmann::json ja = load(out_a), jb = load(out_b);
    std::remove(out_a.c_str());
    std::remove(out_b.c_str());
    ASSERT_EQ(ja["cells"].size(), 1u);
    ASSERT_EQ(jb["cells"].size(), 1u);
    for (const nlohmann::json* cell : {&ja["cells"][0], &jb["cells"][0]}) {
        const nlohmann::json& L = (*cell)["ledger"];
        ASSERT_TRUE(L.is_object()) << cell->dump();
        EXPECT_TRUE(L["tracer"]["available"].get<bool>());
        EXPECT_EQ(u64(L, "receive_copy_bytes"), u64(*cell, "bytes_received"));
        EXPECT_EQ(u64(L, "kernel_send_copy_bytes") + u64(L, "zerocopy_pinned_bytes") +
                      u64(L, "zerocopy_fallback_bytes"),
                  u64(*cell, "bytes_sent"));
        EXPECT_TRUE((*cell)["passed"].get<bool>()) << (*cell)["checks"].dump(1);
    }
    const nlohmann::json& la = ja["cells"][0]["ledger"];
    const nlohmann::json& lb = jb["cells"][0]["ledger"];
    EXPECT_EQ(u64(la, "zerocopy_pinned_bytes"), 0u);
    EXPECT_EQ(u64(la, "deferred_copy_bytes"), 0u);
    EXPECT_EQ(u64(lb, "kernel_send_copy_bytes"), 0u);
    EXPECT_NE(lb["verdict"].get<std::string>().find("not effective"), std::string::npos);
    EXPECT_EQ(our_programs_after_release(), "");
}

// rr: the answers come back the other way; the ledger keeps them apart, exactly, and the
// messages still cost 3/2/2/2 copies per byte (veth: each direction in its own namespace;
// loopback: one namespace, the answers taken off its totals).
TEST_F(TracerLab, RequestResponseAnswersAccountedApart) {
    COPYSCOPE_REQUIRE_ROOT();
    for (Transport t : {Transport::veth, Transport::loopback})
        for (Strategy s : all_strategies) {
            CellSpec spec;
            spec.strategy = s;
            spec.transport = t;
            spec.pattern = Pattern::rr;
            spec.message_size = 4096;
            spec.bytes = 2 * MiB;
            CellResult r = run_cell(spec, {tracer_});
            SCOPED_TRACE(std::string(to_string(t)) + " " + strategy_name(s));
            ASSERT_TRUE(r.error.empty()) << r.error;
            EXPECT_EQ(failed_checks(r), "");
            const nlohmann::json L = ledger_json(r);
            EXPECT_EQ(r.app.response_bytes, r.app.messages_sent * kResponseSize);
            EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.bytes_received);
            EXPECT_EQ(u64(L["responses"], "bytes"), r.app.response_bytes);
            EXPECT_EQ(u64(L["responses"], "receive_copy_bytes"), r.app.response_bytes);
            const double expected = s == Strategy::two_copy ? 3.0 : 2.0;
            EXPECT_NEAR(L["copies_per_byte"].get<double>(), expected, 0.01 * expected);
            bool answer_check = false;
            for (const auto& c : r.checks)
                answer_check |= c.name == "ledger: answer copies == answer bytes";
            EXPECT_EQ(answer_check, t == Transport::veth); // loopback: not separable, said why
            if (t == Transport::veth) {
                EXPECT_EQ(u64(L["by_namespace"]["receiver"], "response_send_copy_bytes"),
                          r.app.response_bytes);
                EXPECT_EQ(u64(L["by_namespace"]["sender"], "response_receive_copy_bytes"),
                          r.app.response_bytes);
            }
        }
}

// forward: the router is counted too; on 6.17+ zerocopy skbs cross it by reference and are
// copied at local delivery in the receiver (before 6.17: at the first receive, the router).
TEST_F(TracerLab, ForwardChargesEachNamespace) {
    COPYSCOPE_REQUIRE_ROOT();
    for (Strategy s : {Strategy::one_copy, Strategy::zero_copy}) {
        CellSpec spec;
        spec.strategy = s;
        spec.transport = Transport::forward;
        spec.message_size = 65536;
        spec.bytes = 32 * MiB;
        CellResult r = run_cell(spec, {tracer_});
        SCOPED_TRACE(strategy_name(s));
        ASSERT_TRUE(r.error.empty()) << r.error;
        EXPECT_EQ(failed_checks(r), "");
        const nlohmann::json L = ledger_json(r);
        ASSERT_TRUE(L["by_namespace"].contains("router")) << L["by_namespace"].dump();
        EXPECT_EQ(u64(L["by_namespace"]["router"], "receive_copy_bytes"), 0u);
        EXPECT_EQ(u64(L["by_namespace"]["receiver"], "receive_copy_bytes"), r.app.bytes_received);
        EXPECT_NEAR(L["copies_per_byte"].get<double>(), 2.0, 0.02);
        if (s == Strategy::zero_copy) {
            const nlohmann::json& raw = L["by_namespace"]["router"]["raw"];
            EXPECT_GT(u64(raw, "rx_zc_bytes"), 0u); // zerocopy skbs reached the router
            const std::string v = L["verdict"].get<std::string>();
            EXPECT_NE(v.find("not effective on forward"), std::string::npos) << v;
            const uint64_t in_router = u64(L["by_namespace"]["router"], "deferred_copy_bytes");
            const uint64_t in_receiver = u64(L["by_namespace"]["receiver"], "deferred_copy_bytes");
            if (in_receiver >= in_router)
                EXPECT_NE(v.find("receiver's namespace"), std::string::npos) << v;
            else
                EXPECT_NE(v.find("router's namespace"), std::string::npos) << v;
        } else {
            EXPECT_TRUE(L["verdict"].is_null());
        }
    }
}

// A free TCP port on 127.0.0.1 (bound, read back, released).
uint16_t free_port() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    return ntohs(a.sin_port);
}

// nic with the sink on 127.0.0.1 in copyscope's own namespace: the "NIC" is lo, so the sink's
// receive copies and the zerocopy copy at local delivery happen in this kernel, and the
// ledger must say so (not claim a remote receiver with no copies).
TEST_F(TracerLab, NicToASinkInThisKernelIsSaidToBeLocal) {
    COPYSCOPE_REQUIRE_ROOT();
    for (Strategy s : {Strategy::one_copy, Strategy::zero_copy}) {
        const uint16_t port = free_port();
        ASSERT_NE(port, 0);
        const std::string peer = "127.0.0.1:" + std::to_string(port);
        std::atomic<bool> stop{false};
        SinkOptions so;
        so.listen = peer;
        so.connections = 1;
        so.quiet = true;
        so.stop = &stop;
        std::jthread sink([&] { run_sink(so); });
        usleep(200 * 1000); // let it listen
        CellSpec spec;
        spec.strategy = s;
        spec.transport = Transport::nic;
        spec.peer = peer;
        spec.message_size = 65536;
        spec.bytes = 16 * MiB;
        CellResult r = run_cell(spec, {tracer_});
        stop = true;
        SCOPED_TRACE(strategy_name(s));
        ASSERT_TRUE(r.error.empty()) << r.error;
        EXPECT_EQ(failed_checks(r), "");
        const nlohmann::json L = ledger_json(r);
        EXPECT_EQ(L["receiver_in_this_kernel"], true) << L["receiver_evidence"];
        EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.bytes_received);
        EXPECT_EQ(u64(L["by_namespace"]["local_sink"], "response_send_copy_bytes"), kSinkTallySize);
        EXPECT_EQ(u64(L["responses"], "receive_copy_bytes"), kSinkTallySize);
        EXPECT_NEAR(L["copies_per_byte"].get<double>(), 2.0, 0.02);
        EXPECT_TRUE(L["tracer"]["socket_filter"].is_string());
        if (s == Strategy::zero_copy) {
            const std::string v = L["verdict"];
            EXPECT_EQ(v.rfind("MSG_ZEROCOPY not effective on nic: 100% of zerocopy bytes copied "
                              "at local delivery in copyscope's own namespace (the sink runs in "
                              "this kernel)",
                              0),
                      0u)
                << v;
        }
    }
}

// Loading and destroying the tracer leaves no program, link or map of ours behind.
TEST(TracerLifetime, NothingStaysLoaded) {
    COPYSCOPE_REQUIRE_ROOT();
    ASSERT_EQ(our_programs_after_release(), "") << "programs of ours loaded before the test";
    std::vector<uint32_t> ids;
    {
        BpfTracer bpf(plan_hooks(kernel_features(), HookMode::automatic));
        ids = bpf.program_ids();
        ASSERT_FALSE(ids.empty());
        EXPECT_NE(our_programs_in_bpftool(), "");
        for (uint32_t id : ids) {
            UniqueFd fd(bpf_prog_get_fd_by_id(id));
            EXPECT_TRUE(fd) << "program " << id << " not loaded";
        }
    }
    EXPECT_EQ(our_programs_after_release(), "");
    for (uint32_t id : ids) {
        UniqueFd fd(bpf_prog_get_fd_by_id(id));
        EXPECT_FALSE(fd) << "program " << id << " still loaded after destruction";
        EXPECT_EQ(errno, ENOENT);
    }
}

// After whole cells with a tracer, nothing of ours remains either; and a process killed
// with its tracer loaded leaves nothing (fds die with it; nothing is pinned).
TEST(TracerLifetime, NothingStaysAfterCellsOrSigkill) {
    COPYSCOPE_REQUIRE_ROOT();
    {
        auto tracer = make_tracer({HookMode::automatic});
        CellSpec spec;
        spec.bytes = 4 * MiB;
        run_cell(spec, {tracer.get()});
    }
    EXPECT_EQ(our_programs_after_release(), "");

    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        BpfTracer bpf(plan_hooks(kernel_features(), HookMode::automatic));
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    EXPECT_NE(our_programs_in_bpftool(), "");
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(our_programs_after_release(), "");
}

// Without the right to load BPF the ledger still comes, every kernel field "unsupported"
// with the reason, never 0.
TEST(TracerLifetime, UnprivilegedLedgerSaysUnsupported) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
        auto tracer = make_tracer({HookMode::automatic});
        CellResult r;
        r.spec.strategy = Strategy::zero_copy;
        r.app.bytes_sent = r.app.bytes_received = MiB;
        r.zerocopy = ZerocopyStats{};
        tracer->cell_end(r);
        for (const char* f :
             {"kernel_send_copy_bytes", "zerocopy_pinned_bytes", "pinned_pages",
              "deferred_copy_bytes", "receive_copy_bytes", "retransmit_bytes", "copies_per_byte"}) {
            const auto v = ledger_json(r)[f];
            if (!v.is_object() || v["unsupported"].get<std::string>().empty()) _exit(11);
        }
        if (ledger_json(r)["tracer"]["available"].get<bool>()) _exit(12);
        if (!r.tracer_cost || *r.tracer_cost || r.tracer_cost->reason().empty()) _exit(13);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
}

} // namespace
} // namespace copyscope
