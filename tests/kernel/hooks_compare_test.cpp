// Lab test of the proof that the tracepoint path tells the truth: scripts/kernel_matrix.py
// --hooks-compare boots one Debian 7.x kernel (trixie-backports' cloud kernel; fentry/fexit
// load there and the kernel is past the 6.17 forwarding change) and makes every run twice in
// the same guest, with --hooks auto (fexit on tcp_sendmsg_locked and skb_copy_ubufs: exact)
// and --hooks prefer-tracepoints (the forms this project's own VM uses: the send split from
// tp_btf, the deferred copy inferred from netif_receive_skb). The matrix prints the two
// ledgers side by side and exits 1 when a figure of the tracepoint path differs from the
// exact one; this test checks that exit status, and on its own the figures that make the
// proof: the hook forms really differ, the send split equal to the byte, the deferred copy
// within 0.5% of skb_copy_ubufs's bytes, and on the forward transport the deferred copy in
// the receiver's namespace, measured exactly.
#include <regex>

#include <gtest/gtest.h>

#include "kernel/matrix_run.h"
#include "support/system_probe.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace copyscope::kerneltest;

namespace {

constexpr int kBoundSeconds = 840;
constexpr const char* kRelease = "7."; // the release of trixie-backports' cloud kernel
const std::string kArgs =
    "--hooks-compare --kernels linux-image-cloud-amd64/trixie-backports --no-summary "
    "--timeout 600 --silence 120 "
    "--run-args '--strategy two-copy,per-field,one-copy,zero-copy --size 4K,64K --threads 1 "
    "--bytes 8M' "
    "--nic-run-args '--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 8M' "
    "--forward-run-args '--strategy zero-copy --size 64K --threads 1 --bytes 8M' "
    "--paths-run-args '' --udp-run-args '' --trace-run-args ''";

class KernelMatrixHooksCompare : public ::testing::Test {
  protected:
    static inline MatrixRun run;

    static void SetUpTestSuite() {
        if (!copyscope::testsupport::running_as_root()) return;
        run = run_matrix("hooks-compare", kArgs, kBoundSeconds);
    }
    static void TearDownTestSuite() { keep_on_failure(run.out); }

    void SetUp() override {
        COPYSCOPE_REQUIRE_ROOT();
        if (run.status == 3)
            GTEST_SKIP() << "qemu or the 7.x kernel package cannot be had here: "
                         << tail(run.output, 400);
        ASSERT_NE(run.status, 124) << "the matrix ran over " << kBoundSeconds << " s:\n"
                                   << tail(run.output, 20000);
    }

    // The cells of one run, made with --hooks auto (exact) or prefer-tracepoints.
    static json cells(const std::string& transport, bool tracepoints) {
        std::string suffix = transport == "veth" ? "" : transport;
        if (tracepoints) suffix = transport + "-tracepoints";
        const fs::path p = find_report(run.out, kRelease, suffix);
        const json r = p.empty() ? json() : read_json(p);
        return r.is_object() ? r.value("cells", json::array()) : json::array();
    }
};

std::string cell_name(const json& c) {
    return c.value("strategy", "?") + " " + c.value("transport", "?") + " " +
           std::to_string(c.value("message_size", 0));
}

const json& hook(const json& cell, const char* name) {
    return cell["ledger"]["hooks"][name];
}

TEST_F(KernelMatrixHooksCompare, TheMatrixSaysTheTracepointPathEqualsTheExactHooks) {
    EXPECT_EQ(run.status, 0) << tail(run.output, 30000);
    EXPECT_NE(run.output.find("the tracepoint path equals the exact hooks"), std::string::npos)
        << tail(run.output, 30000);
}

// The two runs really used different forms: otherwise the comparison proves nothing.
TEST_F(KernelMatrixHooksCompare, TheFormsDiffer) {
    for (const char* transport : {"veth", "nic", "forward"}) {
        const json exact = cells(transport, false), traced = cells(transport, true);
        ASSERT_FALSE(exact.empty()) << transport << ": no --hooks auto report\n"
                                    << tail(run.output, 20000);
        ASSERT_EQ(exact.size(), traced.size()) << transport;
        for (size_t i = 0; i < exact.size(); ++i) {
            SCOPED_TRACE(cell_name(exact[i]));
            EXPECT_EQ(hook(exact[i], "send").value("mechanism", ""), "fexit");
            EXPECT_EQ(hook(exact[i], "deferred_copy").value("mechanism", ""), "fexit");
            EXPECT_EQ(hook(exact[i], "deferred_copy").value("count", ""), "exact");
            EXPECT_EQ(hook(traced[i], "send").value("mechanism", ""), "tp_btf");
            EXPECT_EQ(hook(traced[i], "deferred_copy").value("mechanism", ""), "inferred");
            EXPECT_EQ(traced[i]["ledger"]["tracer"].value("hook_mode", ""), "prefer-tracepoints");
        }
    }
}

void expect_same_figures(const json& a, const json& t) {
    const json &la = a["ledger"], &lt = t["ledger"];
    EXPECT_EQ(la["app_bytes_sent"], lt["app_bytes_sent"]) << "--bytes: the same bytes both ways";
    for (const char* f : {"kernel_send_copy_bytes", "zerocopy_pinned_bytes",
                          "zerocopy_fallback_bytes", "receive_copy_bytes"})
        EXPECT_EQ(la[f], lt[f]) << f;
    if (!la["deferred_copy_bytes"].is_number()) return; // the nic's remote receiver
    ASSERT_TRUE(lt["deferred_copy_bytes"].is_number()) << lt["deferred_copy_bytes"];
    const double exact = la["deferred_copy_bytes"].get<double>();
    EXPECT_NEAR(lt["deferred_copy_bytes"].get<double>(), exact, exact * 0.005);
}

TEST_F(KernelMatrixHooksCompare, SendSplitToTheByteDeferredCopyWithinHalfAPercent) {
    for (const char* transport : {"veth", "nic", "forward"}) {
        const json exact = cells(transport, false), traced = cells(transport, true);
        ASSERT_EQ(exact.size(), traced.size()) << transport;
        for (size_t i = 0; i < exact.size(); ++i) {
            SCOPED_TRACE(cell_name(exact[i]));
            ASSERT_EQ(cell_name(exact[i]), cell_name(traced[i]));
            expect_same_figures(exact[i], traced[i]);
        }
    }
}

// Past d2527ad3a9e1 ("net: preserve MSG_ZEROCOPY with forwarding", 6.17) the router passes
// the pinned pages on and the receiver copies them at local delivery: skb_copy_ubufs's
// bytes in the receiver's namespace equal the pinned bytes.
TEST_F(KernelMatrixHooksCompare, ForwardCopiesInTheReceiverExactly) {
    const json exact = cells("forward", false);
    ASSERT_EQ(exact.size(), 1u);
    const json& led = exact[0]["ledger"];
    const json& ns = led["by_namespace"];
    ASSERT_TRUE(ns.contains("receiver") && ns.contains("router")) << ns.dump().substr(0, 2000);
    EXPECT_GT(led.value("zerocopy_pinned_bytes", 0.0), 0.0);
    EXPECT_EQ(ns["receiver"]["deferred_copy_bytes"], led["zerocopy_pinned_bytes"]);
    EXPECT_EQ(ns["router"]["deferred_copy_bytes"], 0);
    EXPECT_EQ(hook(exact[0], "deferred_copy").value("count", ""), "exact");
}

// `copyscope doctor` in the guest: fexit on tcp_sendmsg_locked and skb_copy_ubufs load.
TEST_F(KernelMatrixHooksCompare, DoctorShowsTheExactFormsUsable) {
    std::string console;
    for (const auto& e : fs::directory_iterator(run.out)) {
        const std::string n = e.path().filename().string();
        if (n.rfind(std::string("kernel-") + kRelease, 0) == 0 && n.size() > 24 &&
            n.compare(n.size() - 24, 24, "-cloud-amd64.console.log") == 0)
            console = read_text(e.path());
    }
    const auto begin = console.find("COPYSCOPE-DOCTOR-BEGIN");
    const auto end = console.find("COPYSCOPE-DOCTOR-END");
    ASSERT_TRUE(begin != std::string::npos && end != std::string::npos) << tail(console, 4000);
    const std::string doctor = console.substr(begin, end - begin);
    EXPECT_TRUE(
        std::regex_search(doctor, std::regex(R"(send\s+fexit\s+tcp_sendmsg_locked\s+exact\s+yes)")))
        << doctor;
    EXPECT_TRUE(std::regex_search(
        doctor,
        std::regex(R"(deferred_copy\s+fexit\s+skb_copy_ubufs, __skb_tstamp_tx\s+exact\s+yes)")))
        << doctor;
}

} // namespace
