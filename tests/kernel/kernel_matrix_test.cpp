// Lab test of the kernel matrix: scripts/kernel_matrix.py boots Debian bookworm's 6.1 cloud
// kernel under qemu (software emulation) with a static copyscope in its initramfs, runs a
// small fixed-bytes run there and brings the report back. On that stock kernel the tracer
// must pick its preferred hook forms (fentry/fexit/kprobe, not the tracepoint or inferred
// fallbacks this project's own VM needs) and the ledger must hold as it does on the host.
// The same guest also sends over a virtio-net NIC (a tap with vnet headers in a network
// namespace the matrix makes) to a `copyscope sink` the matrix runs beside qemu: there
// MSG_ZEROCOPY must be effective (completions not flagged COPIED, no deferred copy), and the
// sink must be gone when the matrix returns. The send paths real programs use run there too
// (sendfile and io_uring over veth and the NIC, UDP zerocopy with GSO over veth), and a
// copyscope run under `copyscope trace`, whose per-connection ledger must agree with the
// run's own counts.
//
// One boot for all the checks: the suite's set-up runs the matrix once (CTest runs this
// binary as one test). The static copyscope comes from the KernelMatrix.StaticBuild fixture,
// the kernel package from the matrix's cache.
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <netinet/in.h>
#include <regex>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kernel/matrix_run.h"
#include "support/system_probe.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace copyscope::kerneltest;

namespace {

constexpr int kBoundSeconds = 840; // under the CTest TIMEOUT
// Few cells, few bytes: every strategy, one small and one zerocopy-sized message; the nic
// run (the matrix adds --transport nic --peer): one copy against zero copy.
const std::string kArgs =
    "--kernels linux-image-cloud-amd64 --no-host --no-summary --timeout 600 --silence 120 "
    "--run-args '--strategy two-copy,per-field,one-copy,zero-copy --size 4K,64K --threads 1 "
    "--bytes 8M' "
    "--nic-run-args '--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 8M' "
    "--forward-run-args '' "
    "--paths-run-args '--strategy sendfile,io-uring,io-uring-zc,io-uring-zc-fixed --size 64K "
    "--threads 1 --bytes 8M' "
    "--udp-run-args '--protocol udp --strategy zero-copy --udp-gso 1472 --size 64K --threads 1 "
    "--bytes 8M' "
    "--trace-run-args '--strategy zero-copy --size 64K --threads 1 --bytes 8M'";
constexpr uint64_t kCellBytes = 8u << 20;

// Whether something still listens on 127.0.0.1:port (a bind there fails).
bool port_in_use(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(uint16_t(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool busy =
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 && errno == EADDRINUSE;
    ::close(fd);
    return busy;
}

bool gone(pid_t pid) {
    return ::kill(pid, 0) != 0 && errno == ESRCH;
}

class KernelMatrix61 : public ::testing::Test {
  protected:
    static inline MatrixRun run;

    static void SetUpTestSuite() {
        if (!copyscope::testsupport::running_as_root()) return;
        run = run_matrix("kernel-matrix", kArgs, kBoundSeconds);
    }
    static void TearDownTestSuite() { keep_on_failure(run.out); }

    void SetUp() override {
        COPYSCOPE_REQUIRE_ROOT();
        if (run.status == 3) {
            // The matrix's "unavailable:" or "cannot be had" line says what is missing.
            GTEST_SKIP() << "kernel matrix: qemu or the 6.1 kernel package cannot be had here: "
                         << tail(run.output, 400);
        }
        ASSERT_NE(run.status, 124) << "the matrix ran over " << kBoundSeconds << " s:\n"
                                   << tail(run.output, 20000);
    }

    static json report(const std::string& suffix) {
        const fs::path p = find_report(run.out, "6.1.", suffix);
        return p.empty() ? json() : read_json(p);
    }
};

TEST_F(KernelMatrix61, TheSinkAndTheNicNamespaceAreGone) {
    std::smatch m;
    // "sink: pid N on ADDR:PORT": on 10.0.2.2 in the matrix's own namespace (tap backend, gone
    // with it) or on 127.0.0.1 here (user backend).
    ASSERT_TRUE(
        std::regex_search(run.output, m, std::regex(R"(sink: pid ([0-9]+) on ([0-9.]+):([0-9]+))")))
        << "the matrix started no sink:\n"
        << tail(run.output, 4000);
    EXPECT_TRUE(gone(pid_t(std::stol(m[1].str()))))
        << "the sink (pid " << m[1] << ") is still running after the matrix";
    if (m[2].str() == "127.0.0.1") EXPECT_FALSE(port_in_use(std::stoi(m[3].str())));
    std::smatch h;
    if (std::regex_search(run.output, h, std::regex(R"(in the namespace of pid ([0-9]+))")))
        EXPECT_TRUE(gone(pid_t(std::stol(h[1].str()))))
            << "the nic namespace's holder (pid " << h[1] << ") is still running";
}

// Preferred hook forms, exact counts, every check evaluated and passed.
void expect_cell_holds(const json& cell) {
    const json& led = cell["ledger"];
    EXPECT_TRUE(cell.value("passed", false)) << cell["checks"].dump(1);
    for (const json& check : cell["checks"])
        EXPECT_TRUE(check.value("passed", false)) << check.dump();
    EXPECT_TRUE(led.value("checks_not_evaluated", json::array()).empty())
        << led["checks_not_evaluated"].dump();
    ASSERT_TRUE(led.contains("tracer") && led["tracer"].value("available", false))
        << "tracer unavailable in the 6.1 guest: " << led.value("copies_per_byte", json()).dump();
    const std::set<std::string> preferred{"fentry", "fexit", "kprobe", "kretprobe"};
    const std::set<std::string> tracepoints{"tp_btf", "raw_tp", "tracepoint"};
    const json& hooks = led["hooks"];
    for (const char* hook : {"send", "deferred_copy", "completions"}) {
        ASSERT_TRUE(hooks.contains(hook)) << hook;
        EXPECT_TRUE(preferred.count(hooks[hook].value("mechanism", "")))
            << hook << " uses " << hooks[hook].dump();
    }
    EXPECT_EQ(hooks["send"].value("count", ""), "exact");
    EXPECT_EQ(hooks["deferred_copy"].value("count", ""), "exact") << hooks["deferred_copy"];
    for (const char* hook : {"receive_copy", "retransmits"}) {
        ASSERT_TRUE(hooks.contains(hook)) << hook;
        EXPECT_TRUE(tracepoints.count(hooks[hook].value("mechanism", "")))
            << hook << " uses " << hooks[hook].dump();
    }
    // Copies before transmit at skb_segment/__pskb_pull_tail: exact.
    ASSERT_TRUE(hooks.contains("transmit_copies"));
    EXPECT_EQ(hooks["transmit_copies"].value("mechanism", ""), "fexit") << hooks["transmit_copies"];
    EXPECT_EQ(hooks["transmit_copies"].value("count", ""), "exact");
    // Pages at the pin site: 6.1 refuses fexit on iov_iter_get_pages2 (attach: EBUSY) and has
    // no send tracepoints, so the figure is unsupported there, with that reason; never inferred.
    ASSERT_TRUE(hooks.contains("pinned_pages"));
    const json& pages = hooks["pinned_pages"];
    if (pages.contains("unsupported")) {
        EXPECT_NE(pages["unsupported"].get<std::string>().find("iov_iter_get_pages2"),
                  std::string::npos)
            << pages;
    } else {
        EXPECT_EQ(pages.value("count", ""), "exact") << pages;
    }
    for (const char* hook : {"transmit", "delivery"}) {
        ASSERT_TRUE(hooks.contains(hook)) << hook;
        EXPECT_EQ(hooks[hook].value("mechanism", ""), "tp_btf") << hooks[hook];
    }
    // Receive copies exact, copies per byte as the strategy's model says.
    ASSERT_TRUE(led["receive_copy_bytes"].is_number()) << led["receive_copy_bytes"];
    EXPECT_EQ(led["receive_copy_bytes"], led["app_bytes_received"]);
    EXPECT_EQ(led["app_bytes_received"], cell["bytes_received"]);
    EXPECT_EQ(cell["bytes_received"], cell["bytes_sent"]);
    EXPECT_EQ(hooks["receive_copy"].value("count", ""), "exact");
    ASSERT_TRUE(led["copies_per_byte"].is_number()) << led["copies_per_byte"];
    EXPECT_NEAR(led["copies_per_byte"].get<double>(), led["copies_per_byte_expected"].get<double>(),
                0.01);
}

// Over veth every send completes COPIED and every pinned byte is copied at local delivery.
void expect_zero_copy_not_effective(const json& led) {
    const json& zc = led["zerocopy_notifications"];
    ASSERT_TRUE(zc.is_object()) << zc;
    EXPECT_GT(zc.value("completions", 0), 0);
    EXPECT_EQ(zc.value("completions", -1), zc.value("sends", -2));
    EXPECT_EQ(zc.value("completions_copied", -1), zc.value("completions", -2));
    ASSERT_TRUE(led["deferred_copy_bytes"].is_number() && led["zerocopy_pinned_bytes"].is_number());
    const double deferred = led["deferred_copy_bytes"].get<double>();
    const double pinned = led["zerocopy_pinned_bytes"].get<double>();
    EXPECT_GT(pinned, 0);
    EXPECT_NEAR(deferred, pinned, pinned * 0.01);
    EXPECT_NE(led.value("verdict", "").find("not effective"), std::string::npos)
        << led.value("verdict", "");
}

TEST_F(KernelMatrix61, VethLedgerHoldsWithThePreferredHooks) {
    const json r = report("");
    ASSERT_TRUE(r.is_object()) << "no kernel-6.1.*.json in " << run.out << " (matrix exit "
                               << run.status << "):\n"
                               << tail(run.output, 20000);
    EXPECT_EQ(r.value("schema", ""), "copyscope-report");
    EXPECT_EQ(r.value("complete", false), true);
    EXPECT_EQ(r["host"].value("kernel_release", "").rfind("6.1.", 0), 0u)
        << "booted " << r["host"].value("kernel_release", "?");
    ASSERT_TRUE(r["cells"].is_array());
    ASSERT_EQ(r["cells"].size(), 8u) << "4 strategies x 2 sizes";
    bool saw_zero_copy = false;
    for (const json& cell : r["cells"]) {
        SCOPED_TRACE(cell.value("strategy", "?") + " " +
                     std::to_string(cell.value("message_size", 0)) + " B");
        expect_cell_holds(cell);
        if (cell.value("strategy", "") != "zero-copy") continue;
        saw_zero_copy = true;
        expect_zero_copy_not_effective(cell["ledger"]);
    }
    EXPECT_TRUE(saw_zero_copy);
}

// Out of the guest through virtio-net: the pages leave the guest kernel by reference.
void expect_nic_zero_copy_effective(const json& cell) {
    const json& zc = cell["zerocopy"];
    ASSERT_TRUE(zc.is_object()) << zc;
    EXPECT_GT(zc.value("sends", 0), 0);
    EXPECT_EQ(zc.value("completions", -1), zc.value("sends", -2)) << zc;
    EXPECT_EQ(zc.value("missing_completions", -1), 0) << zc;
    EXPECT_EQ(zc.value("completions_copied", -1), 0) << zc;
    const json& led = cell["ledger"];
    ASSERT_TRUE(led.contains("tracer") && led["tracer"].value("available", false))
        << "tracer unavailable in the 6.1 guest (nic)";
    if (led["deferred_copy_bytes"].is_number()) {
        EXPECT_EQ(led["deferred_copy_bytes"].get<double>(), 0.0);
        const std::string verdict = led.value("verdict", "");
        EXPECT_EQ(verdict.find("not effective"), std::string::npos) << verdict;
        EXPECT_NE(verdict.find("effective"), std::string::npos) << verdict;
    } else {
        const json raw = led.value("by_namespace", json::object())
                             .value("sender", json::object())
                             .value("raw", json::object());
        ASSERT_TRUE(raw.contains("deferred_bytes")) << led.dump(1).substr(0, 4000);
        EXPECT_EQ(raw.value("deferred_bytes", -1), 0) << raw;
    }
    if (led.value("transport", "") == "nic")
        EXPECT_TRUE(cell.value("passed", false)) << cell["checks"].dump(1);
}

TEST_F(KernelMatrix61, NicZeroCopyIsEffective) {
    const json nic = report("nic");
    ASSERT_TRUE(nic.is_object()) << "no kernel-6.1.*-nic.json in " << run.out << ":\n"
                                 << tail(run.output, 20000);
    EXPECT_EQ(nic.value("complete", false), true) << nic.value("interrupted", json()).dump();
    ASSERT_TRUE(nic["cells"].is_array());
    ASSERT_EQ(nic["cells"].size(), 2u) << "one-copy and zero-copy, 64 KiB";
    bool saw_zero_copy = false;
    for (const json& cell : nic["cells"]) {
        SCOPED_TRACE("nic " + cell.value("strategy", "?"));
        EXPECT_EQ(cell.value("transport", ""), "nic");
        EXPECT_GT(cell.value("bytes_sent", 0), 0);
        EXPECT_EQ(cell["bytes_received"], cell["bytes_sent"]); // the sink's tally
        if (cell.value("strategy", "") != "zero-copy") continue;
        saw_zero_copy = true;
        expect_nic_zero_copy_effective(cell);
    }
    EXPECT_TRUE(saw_zero_copy);
}

double number(const json& led, const char* figure) {
    const json& v = led.value(figure, json());
    return v.is_number() ? v.get<double>() : -1;
}

const json* cell_of(const json& report, const std::string& strategy) {
    for (const json& cell : report["cells"])
        if (cell.value("strategy", "") == strategy) return &cell;
    return nullptr;
}

// sendfile and io_uring over veth: the same ledger checks and preferred hooks as the classroom
// four; sendfile reaches TCP by reference through do_tcp_sendpages on 6.1 (no send copy).
TEST_F(KernelMatrix61, SendPathsOverVeth) {
    const json r = report("paths");
    ASSERT_TRUE(r.is_object()) << "no kernel-6.1.*-paths.json in " << run.out << ":\n"
                               << tail(run.output, 20000);
    ASSERT_EQ(r["cells"].size(), 4u) << "sendfile and three io_uring strategies, 64 KiB";
    for (const json& cell : r["cells"]) {
        const std::string strategy = cell.value("strategy", "?");
        SCOPED_TRACE("paths " + strategy);
        EXPECT_EQ(cell.value("bytes_sent", uint64_t(0)), kCellBytes);
        expect_cell_holds(cell);
        const json& led = cell["ledger"];
        const double sent = double(kCellBytes);
        if (strategy == "sendfile") {
            const json& splice = led["hooks"].value("splice", json::object());
            EXPECT_EQ(splice.value("mechanism", ""), "fexit") << splice;
            EXPECT_EQ(splice.value("targets", json::array()), json::array({"do_tcp_sendpages"}));
            EXPECT_EQ(number(led, "spliced_bytes"), sent);
            EXPECT_EQ(number(led, "kernel_send_copy_bytes"), 0);
            EXPECT_EQ(number(led, "deferred_copy_bytes"), 0);
            continue;
        }
        const json& uring = cell["io_uring"];
        ASSERT_TRUE(uring.is_object()) << cell.dump(1).substr(0, 2000);
        if (strategy == "io-uring") {
            EXPECT_EQ(number(led, "kernel_send_copy_bytes"), sent);
            continue;
        }
        // SEND_ZC over veth: every notification COPIED, every byte copied at the first receive.
        EXPECT_GT(uring.value("notifications", 0), 0) << uring;
        EXPECT_EQ(uring.value("notifications_copied", -1), uring.value("notifications", -2));
        EXPECT_EQ(uring.value("missing_notifications", -1), 0) << uring;
        EXPECT_EQ(number(led, "kernel_send_copy_bytes"), 0);
        EXPECT_EQ(
            number(led, strategy == "io-uring-zc" ? "zerocopy_pinned_bytes" : "registered_bytes"),
            sent);
        EXPECT_EQ(number(led, "deferred_copy_bytes"), sent);
    }
}

// Through virtio-net: sendfile by reference, io_uring SEND_ZC effective (no notification
// COPIED, nothing copied on this host), every byte at the sink.
TEST_F(KernelMatrix61, SendPathsThroughTheNic) {
    const json r = report("paths-nic");
    ASSERT_TRUE(r.is_object()) << "no kernel-6.1.*-paths-nic.json in " << run.out << ":\n"
                               << tail(run.output, 20000);
    ASSERT_EQ(r["cells"].size(), 4u);
    for (const json& cell : r["cells"]) {
        const std::string strategy = cell.value("strategy", "?");
        SCOPED_TRACE("paths-nic " + strategy);
        EXPECT_EQ(cell.value("transport", ""), "nic");
        EXPECT_EQ(cell.value("bytes_sent", uint64_t(0)), kCellBytes);
        EXPECT_EQ(cell["bytes_received"], cell["bytes_sent"]); // the sink's tally
        EXPECT_TRUE(cell.value("passed", false)) << cell["checks"].dump(1);
        const json& led = cell["ledger"];
        ASSERT_TRUE(led.contains("tracer") && led["tracer"].value("available", false));
        const double sent = double(kCellBytes);
        if (strategy == "sendfile") {
            EXPECT_EQ(number(led, "spliced_bytes"), sent);
            EXPECT_EQ(number(led, "kernel_send_copy_bytes"), 0);
        } else if (strategy == "io-uring") {
            EXPECT_EQ(number(led, "kernel_send_copy_bytes"), sent);
        } else {
            const json& uring = cell["io_uring"];
            EXPECT_GT(uring.value("notifications", 0), 0) << uring;
            EXPECT_EQ(uring.value("notifications_copied", -1), 0) << uring;
            EXPECT_EQ(uring.value("missing_notifications", -1), 0) << uring;
            EXPECT_EQ(number(led, "kernel_send_copy_bytes"), 0);
            EXPECT_EQ(number(led, strategy == "io-uring-zc" ? "zerocopy_pinned_bytes"
                                                            : "registered_bytes"),
                      sent);
            EXPECT_EQ(number(led, "deferred_copy_bytes"), 0);
        }
    }
}

constexpr const char* kUdpKernelCompletions = "ledger: kernel completions == runner completions";

// UDP MSG_ZEROCOPY with UDP_SEGMENT over veth: pinned at send, every byte copied at local
// delivery, every completion COPIED, and every check holds (the kernel's completion count
// among them: fentry __msg_zerocopy_callback finds UDP senders too).
TEST_F(KernelMatrix61, UdpZeroCopyWithGsoOverVeth) {
    const json r = report("udp");
    ASSERT_TRUE(r.is_object()) << "no kernel-6.1.*-udp.json in " << run.out << ":\n"
                               << tail(run.output, 20000);
    ASSERT_EQ(r["cells"].size(), 1u);
    const json& cell = r["cells"][0];
    EXPECT_EQ(cell.value("protocol", ""), "udp");
    EXPECT_EQ(cell.value("bytes_sent", uint64_t(0)), kCellBytes);
    EXPECT_EQ(cell.value("bytes_received", uint64_t(0)) +
                  cell["udp"].value("bytes_dropped", uint64_t(1)),
              kCellBytes)
        << cell["udp"];
    bool kernel_completions = false;
    for (const json& check : cell["checks"]) {
        kernel_completions |= check.value("name", "") == kUdpKernelCompletions;
        EXPECT_TRUE(check.value("passed", false)) << check.dump();
    }
    EXPECT_TRUE(kernel_completions) << cell["checks"].dump();
    const json& led = cell["ledger"];
    const double sent = double(kCellBytes);
    EXPECT_EQ(number(led, "zerocopy_pinned_bytes"), sent);
    EXPECT_EQ(number(led, "kernel_send_copy_bytes"), 0);
    EXPECT_EQ(number(led, "zerocopy_fallback_bytes"), 0);
    EXPECT_NEAR(number(led, "deferred_copy_bytes"), sent, sent * 0.01);
    const json& zc = cell["zerocopy"];
    EXPECT_GT(zc.value("sends", 0), 0) << zc;
    EXPECT_EQ(zc.value("completions", -1), zc.value("sends", -2)) << zc;
    EXPECT_EQ(zc.value("completions_copied", -1), zc.value("completions", -2)) << zc;
}

// copyscope trace of a copyscope run (a program that loads its own BPF programs): the sending
// connection's bytes equal the run's, it pinned every byte and saw the completions the run
// itself read from its error queue, with the fentry/fexit forms. One cell here, to keep the
// guest's time short; the matrix's default traced run has two.
TEST_F(KernelMatrix61, TraceOfARunAgreesWithTheRun) {
    const json t = report("trace"), r = report("traced");
    ASSERT_TRUE(t.is_object() && r.is_object())
        << "no kernel-6.1.*-trace.json or -traced.json in " << run.out << ":\n"
        << tail(run.output, 20000);
    EXPECT_EQ(t.value("schema", ""), "copyscope-trace");
    EXPECT_EQ(t["end"].value("reason", ""), "command_exited") << t["end"];
    EXPECT_EQ(t["end"].value("exit_status", -1), 0) << t["end"];
    EXPECT_EQ(t["tracer"].value("missed_events", -1), 0);
    for (const char* hook : {"send", "deferred_copy", "completions"})
        EXPECT_TRUE(std::set<std::string>({"fentry", "fexit"})
                        .count(t["hooks"].value(hook, json::object()).value("mechanism", "")))
            << hook << ": " << t["hooks"].value(hook, json()).dump();
    const json* zero = cell_of(r, "zero-copy");
    ASSERT_TRUE(zero && r["cells"].size() == 1) << r.dump(1).substr(0, 2000);
    std::vector<json> sending;
    double received = 0;
    for (const json& p : t["processes"])
        for (const json& c : p["connections"]) {
            if (number(c["ledger"], "bytes_sent") > 0) sending.push_back(c);
            received += std::max(0.0, number(c["ledger"], "receive_copy_bytes"));
        }
    ASSERT_EQ(sending.size(), 1u) << t["processes"].dump(1).substr(0, 4000);
    EXPECT_EQ(received, double(kCellBytes)); // the receiving connection's copies
    const json& L = sending[0]["ledger"];
    const double sent = zero->value("bytes_sent", 0.0);
    EXPECT_EQ(sent, double(kCellBytes));
    EXPECT_EQ(number(L, "bytes_sent"), sent);
    EXPECT_EQ(number(L, "zerocopy_pinned_bytes"), sent);
    EXPECT_EQ(number(L, "kernel_send_copy_bytes"), 0);
    const json& zc = (*zero)["zerocopy"];
    EXPECT_GT(zc.value("completions_copied", 0), 0) << zc; // veth: copied at delivery
    EXPECT_EQ(L["completions"]["sends"], zc["completions"]);
    EXPECT_EQ(L["completions"]["copied"], zc["completions_copied"]);
    EXPECT_EQ(run.output.find(": trace: "), std::string::npos) << tail(run.output, 4000);
}

TEST_F(KernelMatrix61, TheMatrixPassed) {
    EXPECT_EQ(run.status, 0) << tail(run.output, 20000);
}

} // namespace
