// Lab test of the kernel matrix: scripts/kernel-matrix.sh boots Debian bookworm's 6.1 cloud
// kernel under qemu (software emulation) with a static copyscope in its initramfs, runs a
// small fixed-bytes run there and brings the report back. On that stock kernel the tracer
// must pick its preferred hook forms (fentry/fexit/kprobe, not the tracepoint or inferred
// fallbacks this project's own VM needs) and the ledger must hold as it does on the host.
// The same guest also sends over a virtio-net NIC (a tap with vnet headers in a network namespace
// the script makes) to a `copyscope sink` the script runs beside qemu: there MSG_ZEROCOPY must be
// effective (completions not flagged COPIED, no deferred copy), and the sink must be gone when
// the script returns.
//
// One boot for all the checks (each TEST would be its own process under CTest). The static
// build lives in the script's fixed build dir (build-static) and the kernel package in its
// cache (build-kernels/cache), so the plain and the sanitized suites build and download once.
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/system_probe.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kScriptBoundSeconds = 840;                   // under the CTest TIMEOUT of 900
constexpr const char* kKernel = "linux-image-cloud-amd64"; // bookworm's 6.1 cloud kernel
// Few cells, few bytes: every strategy, one small and one zerocopy-sized message.
constexpr const char* kRunArgs = "--strategy all --size 4K,64K --threads 1 --bytes 8M";
// The nic run (the script adds --transport nic --peer): one copy against zero copy.
constexpr const char* kNicRunArgs =
    "--strategy one-copy,zero-copy --size 64K --threads 1 --bytes 8M";

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string tail(const std::string& s, size_t n) {
    return s.size() <= n ? s : "[...]\n" + s.substr(s.size() - n);
}

std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'')
            q += "'\\''";
        else
            q += c;
    }
    return q + "'";
}

struct ScriptRun {
    int status = -1;
    std::string output;
};

ScriptRun run_matrix(const fs::path& out) {
    const fs::path log = out / "kernel-matrix.log";
    // COPYSCOPE_STATIC_BINARY: a static copyscope built elsewhere (else the script builds one
    // in its fixed build dir, once for both test suites).
    std::string binary;
    if (const char* b = std::getenv("COPYSCOPE_STATIC_BINARY"); b && *b)
        binary = std::string(" --copyscope ") + quote(b);
    const std::string cmd =
        "timeout --kill-after=15 " + std::to_string(kScriptBoundSeconds) + " bash " +
        quote(std::string(COPYSCOPE_SOURCE_DIR) + "/scripts/kernel-matrix.sh") + " --kernels " +
        kKernel + " --out " + quote(out.string()) + " --run-args " + quote(kRunArgs) +
        " --nic-run-args " + quote(kNicRunArgs) + " --forward-run-args ''" + binary +
        " --timeout 600 --no-summary </dev/null >" + quote(log.string()) + " 2>&1";
    ScriptRun r;
    int raw = std::system(cmd.c_str());
    r.status = (raw != -1 && WIFEXITED(raw)) ? WEXITSTATUS(raw) : -1;
    r.output = read_file(log);
    return r;
}

bool is_number(const json& v) {
    return v.is_number();
}

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

} // namespace

TEST(KernelMatrix, Debian61BootsAndItsLedgerHolds) {
    COPYSCOPE_REQUIRE_ROOT();
    const fs::path out =
        fs::temp_directory_path() / ("copyscope-kernel-matrix-" + std::to_string(getpid()));
    fs::remove_all(out);
    fs::create_directories(out);
    // The report, the meta file and the guest's console stay for a failed test.
    struct KeepOnFailure {
        fs::path dir;
        ~KeepOnFailure() {
            if (::testing::Test::HasFailure())
                std::fprintf(stderr, "kernel matrix: report and guest console kept in %s\n",
                             dir.c_str());
            else
                fs::remove_all(dir);
        }
    } keep{out};

    ScriptRun run = run_matrix(out);
    if (run.status == 3) {
        // The script's "unavailable:" line says what could not be had.
        std::string why = run.output;
        if (auto at = why.rfind("unavailable: "); at != std::string::npos) why = why.substr(at);
        GTEST_SKIP() << "kernel matrix: qemu or the 6.1 kernel package cannot be had here: "
                     << tail(why, 400);
    }
    ASSERT_NE(run.status, 124) << "scripts/kernel-matrix.sh ran over " << kScriptBoundSeconds
                               << " s:\n"
                               << tail(run.output, 20000);

    // The reports came back: kernel-<release>.json (veth) and kernel-<release>-nic.json.
    fs::path report_path, nic_path;
    for (const auto& e : fs::directory_iterator(out)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("kernel-6.1.", 0) != 0 || name.size() < 5 ||
            name.find(".meta.") != std::string::npos ||
            name.compare(name.size() - 5, 5, ".json") != 0)
            continue;
        if (name.size() > 9 && name.compare(name.size() - 9, 9, "-nic.json") == 0)
            nic_path = e.path();
        else if (name.find("-forward.") == std::string::npos)
            report_path = e.path();
    }

    // The host-side sink is gone: the script logged its pid and port.
    {
        std::smatch m;
        // "sink: pid N on ADDR:PORT": on 10.0.2.2 in the script's own namespace (tap backend,
        // gone with it) or on 127.0.0.1 here (user backend).
        const std::regex sink_line(R"(sink: pid ([0-9]+) on ([0-9.]+):([0-9]+))");
        ASSERT_TRUE(std::regex_search(run.output, m, sink_line)) << "the script started no sink:\n"
                                                                 << tail(run.output, 4000);
        const pid_t pid = pid_t(std::stol(m[1].str()));
        const int port = std::stoi(m[3].str());
        EXPECT_TRUE(::kill(pid, 0) != 0 && errno == ESRCH)
            << "the sink (pid " << pid << ") is still running after the script";
        if (m[2].str() == "127.0.0.1") {
            EXPECT_FALSE(port_in_use(port)) << "something still listens on 127.0.0.1:" << port;
        }
        std::smatch h;
        if (std::regex_search(run.output, h, std::regex(R"(in the namespace of pid ([0-9]+))"))) {
            const pid_t holder = pid_t(std::stol(h[1].str()));
            EXPECT_TRUE(::kill(holder, 0) != 0 && errno == ESRCH)
                << "the nic namespace's holder (pid " << holder << ") is still running";
        }
    }
    ASSERT_FALSE(report_path.empty())
        << "no kernel-6.1.*.json in " << out << " (script exit " << run.status << "):\n"
        << tail(run.output, 20000);
    json report = json::parse(read_file(report_path), nullptr, false);
    ASSERT_FALSE(report.is_discarded()) << report_path << " is not JSON";
    EXPECT_EQ(report.value("schema", ""), "copyscope-report");
    EXPECT_EQ(report.value("complete", false), true);
    ASSERT_TRUE(report.contains("host"));
    EXPECT_EQ(report["host"].value("kernel_release", "").rfind("6.1.", 0), 0u)
        << "booted " << report["host"].value("kernel_release", "?");
    ASSERT_TRUE(report.contains("cells") && report["cells"].is_array());
    ASSERT_EQ(report["cells"].size(), 8u) << "4 strategies x 2 sizes";

    const std::set<std::string> preferred{"fentry", "fexit", "kprobe", "kretprobe"};
    const std::set<std::string> tracepoints{"tp_btf", "raw_tp", "tracepoint"};
    bool saw_zero_copy = false;
    for (const json& cell : report["cells"]) {
        const std::string name = cell.value("strategy", "?") + " " +
                                 std::to_string(cell.value("message_size", 0)) + " B";
        SCOPED_TRACE(name);
        const json& led = cell["ledger"];

        // Every check ran and passed: a tracer that failed to load leaves checks
        // "not evaluated", which must not pass here, where every hook can load.
        EXPECT_TRUE(cell.value("passed", false)) << cell["checks"].dump(1);
        for (const json& check : cell["checks"])
            EXPECT_TRUE(check.value("passed", false)) << check.dump();
        EXPECT_TRUE(led.value("checks_not_evaluated", json::array()).empty())
            << led["checks_not_evaluated"].dump();
        ASSERT_TRUE(led.contains("tracer") && led["tracer"].value("available", false))
            << "tracer unavailable in the 6.1 guest: "
            << led.value("copies_per_byte", json()).dump();

        // Preferred hook forms on a stock kernel.
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
        ASSERT_TRUE(hooks.contains("pinned_pages"));
        EXPECT_NE(hooks["pinned_pages"].value("mechanism", ""), "inferred");

        // Receive copies exact.
        ASSERT_TRUE(is_number(led["receive_copy_bytes"])) << led["receive_copy_bytes"];
        EXPECT_EQ(led["receive_copy_bytes"], led["app_bytes_received"]);
        EXPECT_EQ(led["app_bytes_received"], cell["bytes_received"]);
        EXPECT_EQ(cell["bytes_received"], cell["bytes_sent"]);
        EXPECT_EQ(hooks["receive_copy"].value("count", ""), "exact");

        // Copies per byte as the strategy's model says.
        ASSERT_TRUE(is_number(led["copies_per_byte"])) << led["copies_per_byte"];
        EXPECT_NEAR(led["copies_per_byte"].get<double>(),
                    led["copies_per_byte_expected"].get<double>(), 0.01);

        if (cell.value("strategy", "") != "zero-copy") continue;
        saw_zero_copy = true;
        // Deferred copies match COPIED completions: over veth every send completes COPIED
        // and every pinned byte is copied at local delivery (skb_copy_ubufs).
        const json& zc = led["zerocopy_notifications"];
        ASSERT_TRUE(zc.is_object()) << zc;
        EXPECT_GT(zc.value("completions", 0), 0);
        EXPECT_EQ(zc.value("completions", -1), zc.value("sends", -2));
        EXPECT_EQ(zc.value("completions_copied", -1), zc.value("completions", -2));
        ASSERT_TRUE(is_number(led["deferred_copy_bytes"]) &&
                    is_number(led["zerocopy_pinned_bytes"]));
        const double deferred = led["deferred_copy_bytes"].get<double>();
        const double pinned = led["zerocopy_pinned_bytes"].get<double>();
        EXPECT_GT(pinned, 0);
        EXPECT_NEAR(deferred, pinned, pinned * 0.01);
        EXPECT_NE(led.value("verdict", "").find("not effective"), std::string::npos)
            << led.value("verdict", "");
    }
    EXPECT_TRUE(saw_zero_copy);

    // ---- nic: out of the guest through virtio-net to the host's sink ----------------------
    ASSERT_FALSE(nic_path.empty())
        << "no kernel-6.1.*-nic.json in " << out << " (script exit " << run.status << "):\n"
        << tail(run.output, 20000);
    json nic = json::parse(read_file(nic_path), nullptr, false);
    ASSERT_FALSE(nic.is_discarded()) << nic_path << " is not JSON";
    EXPECT_EQ(nic.value("complete", false), true) << nic.value("interrupted", json()).dump();
    ASSERT_TRUE(nic.contains("cells") && nic["cells"].is_array());
    ASSERT_EQ(nic["cells"].size(), 2u) << "one-copy and zero-copy, 64 KiB";
    bool saw_nic_zero_copy = false;
    for (const json& cell : nic["cells"]) {
        const std::string name = "nic " + cell.value("strategy", "?");
        SCOPED_TRACE(name);
        EXPECT_EQ(cell.value("transport", ""), "nic");
        // Bytes the sink received (its tally) equal bytes sent.
        EXPECT_GT(cell.value("bytes_sent", 0), 0);
        EXPECT_EQ(cell["bytes_received"], cell["bytes_sent"]);
        if (cell.value("strategy", "") != "zero-copy") continue;
        saw_nic_zero_copy = true;
        // Every completion arrived and none says the kernel copied: the pages left the guest
        // kernel by reference.
        const json& zc = cell["zerocopy"];
        ASSERT_TRUE(zc.is_object()) << zc;
        EXPECT_GT(zc.value("sends", 0), 0);
        EXPECT_EQ(zc.value("completions", -1), zc.value("sends", -2)) << zc;
        EXPECT_EQ(zc.value("missing_completions", -1), 0) << zc;
        EXPECT_EQ(zc.value("completions_copied", -1), 0) << zc;
        // No deferred copy: the ledger's figure where it gives one, else the sender
        // namespace's raw counter (the tracer ran in the guest).
        const json& led = cell["ledger"];
        ASSERT_TRUE(led.contains("tracer") && led["tracer"].value("available", false))
            << "tracer unavailable in the 6.1 guest (nic)";
        if (is_number(led["deferred_copy_bytes"])) {
            EXPECT_EQ(led["deferred_copy_bytes"].get<double>(), 0.0);
            EXPECT_EQ(led.value("verdict", "").find("not effective"), std::string::npos)
                << led.value("verdict", "");
            EXPECT_NE(led.value("verdict", "").find("effective"), std::string::npos)
                << led.value("verdict", "");
        } else {
            const json raw = led.value("by_namespace", json::object())
                                 .value("sender", json::object())
                                 .value("raw", json::object());
            ASSERT_TRUE(raw.contains("deferred_bytes")) << led.dump(1).substr(0, 4000);
            EXPECT_EQ(raw.value("deferred_bytes", -1), 0) << raw;
        }
        // A ledger that knows the nic transport (no local receiver) passes all its checks.
        if (led.value("transport", "") == "nic") {
            EXPECT_TRUE(cell.value("passed", false)) << cell["checks"].dump(1);
        }
    }
    EXPECT_TRUE(saw_nic_zero_copy);
}
