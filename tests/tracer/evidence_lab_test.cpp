// The evidence behind the copy ledger, on real cells on this machine's kernel (root:
// namespaces, veth, BPF): the deferred copy is seen at delivery, every copy site is counted
// where it is, a packet tap shows up as one, the causes of a copy reach the verdict, and a
// ledger fed evidence that contradicts it fails.
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/unique_fd.h"
#include "lab/connections.h"
#include "lab/lab.h"
#include "ledger/ledger.h"
#include "report/ledger_json.h"
#include "runner/runner.h"
#include "runner/sink.h"
#include "support/system_probe.h"
#include "tracer/bpf_tracer.h"
#include "tracer/tracer.h"

namespace copyscope {
namespace {

constexpr uint64_t MiB = 1 << 20;

std::string failed_checks(const CellResult& r) {
    std::string out;
    for (const auto& c : r.checks)
        if (!c.passed) out += c.name + ": " + c.detail + "\n";
    return out;
}

const Check* check_named(const CellResult& r, const std::string& prefix) {
    for (const auto& c : r.checks)
        if (c.name.rfind(prefix, 0) == 0) return &c;
    return nullptr;
}

nlohmann::json ledger_json(const CellResult& r) {
    return r.ledger ? to_json(*r.ledger) : nlohmann::json(nullptr);
}

uint64_t u64(const nlohmann::json& j, const char* key) {
    EXPECT_TRUE(j.contains(key) && j[key].is_number()) << key << " in " << j.dump();
    return j.value(key, uint64_t{0});
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Runs `f` in a thread that has entered `ns` (the calling thread stays where it is).
template <class F> void in_namespace(const NetNs& ns, F f) {
    std::thread t([&] {
        NetnsGuard in(ns);
        f();
    });
    t.join();
}

// tcpdump listening on one interface of the sender's namespace (or of this process's own,
// for nic) for the length of the cell: a packet tap (AF_PACKET). Started with a death
// signal and stopped by its pid; its capture goes to /dev/null.
class Tcpdump final : public CellObserver {
  public:
    explicit Tcpdump(std::string ifname = "") : ifname_(std::move(ifname)) {}
    ~Tcpdump() override { stop(); }

    void cell_begin(const CellSpec& /*spec*/, const Lab& lab) override {
        const std::string ifname = ifname_.empty() ? lab.sender_ifname() : ifname_;
        const int ns = lab.transport() == Transport::nic ? -1 : lab.sender_ns().fd();
        int err[2];
        ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
        pid_ = fork();
        ASSERT_GE(pid_, 0);
        if (pid_ == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (ns >= 0 && setns(ns, CLONE_NEWNET) != 0) _exit(120);
            dup2(err[1], 2);
            int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            execlp("tcpdump", "tcpdump", "-n", "-i", ifname.c_str(), "-w", "/dev/null", nullptr);
            _exit(127);
        }
        close(err[1]);
        // tcpdump says "listening on IFNAME" once its socket is bound.
        std::string said;
        pollfd p{err[0], POLLIN, 0};
        while (!contains(said, "listening on") && poll(&p, 1, 10000) == 1) {
            char buf[256];
            ssize_t n = read(err[0], buf, sizeof buf);
            if (n <= 0) break;
            said.append(buf, n);
        }
        close(err[0]);
        ASSERT_TRUE(contains(said, "listening on")) << "tcpdump: " << said;
    }
    void cell_end(CellResult& /*result*/) override { stop(); }

  private:
    void stop() {
        if (pid_ <= 0) return;
        kill(pid_, SIGTERM);
        int status = 0;
        waitpid(pid_, &status, 0);
        pid_ = -1;
    }
    std::string ifname_;
    pid_t pid_ = -1;
};

// net.core.optmem_max set in the sender's namespace before the traffic (per namespace since
// 6.12; this machine's kernel is newer).
class Optmem final : public CellObserver {
  public:
    explicit Optmem(int value) : value_(value) {}
    void cell_begin(const CellSpec& /*spec*/, const Lab& lab) override {
        in_namespace(lab.sender_ns(), [&] {
            std::ofstream f("/proc/sys/net/core/optmem_max");
            f << value_;
            ok_ = static_cast<bool>(f.flush());
        });
        ASSERT_TRUE(ok_) << "could not set optmem_max in the sender's namespace";
    }

  private:
    int value_;
    bool ok_ = false;
};

// Scatter-gather off on the sender's veth (ETHTOOL_SSG), as on a device without it.
class NoScatterGather final : public CellObserver {
  public:
    void cell_begin(const CellSpec& /*spec*/, const Lab& lab) override {
        int rc = -1, err = 0;
        in_namespace(lab.sender_ns(), [&] {
            UniqueFd fd(::socket(AF_INET, SOCK_DGRAM, 0));
            ethtool_value v{};
            v.cmd = ETHTOOL_SSG;
            v.data = 0;
            ifreq ifr{};
            std::strncpy(ifr.ifr_name, lab.sender_ifname().c_str(), IFNAMSIZ - 1);
            ifr.ifr_data = reinterpret_cast<char*>(&v);
            rc = ioctl(fd.get(), SIOCETHTOOL, &ifr);
            err = errno;
        });
        ASSERT_EQ(rc, 0) << "ETHTOOL_SSG: " << std::strerror(err);
    }
};

class EvidenceLab : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (!testsupport::running_as_root()) return;
        tracer_ = make_tracer({HookMode::automatic}).release();
    }
    static void TearDownTestSuite() {
        delete tracer_;
        tracer_ = nullptr;
    }
    static CellSpec zero_copy_veth(uint64_t bytes) {
        CellSpec spec;
        spec.strategy = Strategy::zero_copy;
        spec.transport = Transport::veth;
        spec.message_size = 65536;
        spec.bytes = bytes;
        return spec;
    }
    static bool deferred_inferred(const nlohmann::json& L) {
        return L["hooks"][hook_deferred]["count"] == "inferred";
    }
    static CellObserver* tracer_;
};
CellObserver* EvidenceLab::tracer_ = nullptr;

// The deferred copy seen at delivery: every zerocopy byte that reached TCP had been copied,
// none reached the receiver as user pages, and what left the sender is what it pinned.
TEST_F(EvidenceLab, DeferredCopyIsSeenAtDelivery) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run_cell(zero_copy_veth(32 * MiB), {tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = ledger_json(r);
    const uint64_t pinned = u64(L, "zerocopy_pinned_bytes");
    const uint64_t recopied = u64(L, "deferred_copy_retransmit_bytes");
    EXPECT_EQ(pinned, r.app.bytes_sent);
    EXPECT_EQ(u64(L, "receive_copy_zerocopy_bytes"), 0u);
    EXPECT_EQ(u64(L, "delivered_uncopied_bytes"), 0u);
    EXPECT_EQ(u64(L, "delivered_copied_bytes"), pinned + recopied);
    EXPECT_EQ(u64(L, "copy_site_receive_bytes"), pinned + recopied);
    EXPECT_EQ(u64(L, "deferred_copy_bytes"), pinned);
    const uint64_t sent = u64(L, "zerocopy_transmitted_bytes");
    EXPECT_GE(sent, pinned);
    EXPECT_LE(sent, pinned + u64(L, "retransmit_bytes"));
    for (const char* site : {"copy_site_tap_tx_bytes", "copy_site_tap_rx_bytes",
                             "copy_site_tun_bytes", "copy_site_no_sg_bytes"})
        EXPECT_EQ(u64(L, site), 0u) << site;
    // Distinct pages: at least the bytes' pages, at most one more per field of a message.
    const uint64_t sends = r.zerocopy->sends;
    EXPECT_GE(u64(L, "pinned_pages"), pinned / 4096);
    EXPECT_LE(u64(L, "pinned_pages"), pinned / 4096 + 9 * sends);
    // Every ledger check says whether it is independent evidence.
    for (const auto& c : r.checks)
        if (c.name.rfind("ledger:", 0) == 0) {
            EXPECT_TRUE(c.independent.has_value()) << c.name;
            EXPECT_FALSE(c.independent_why.empty()) << c.name;
        }
    EXPECT_EQ(check_named(r, "ledger: copies per byte")->independent, false);
    EXPECT_EQ(check_named(r, "ledger: no user page reaches")->independent, true);
    const std::string v = L["verdict"];
    if (deferred_inferred(L)) {
        EXPECT_EQ(check_named(r, "ledger: deferred copy agrees")->independent, false);
        EXPECT_TRUE(contains(v, "inferred")) << v;
    }
}

// A ledger is only as good as the evidence that can contradict it: feed it the counts of a
// real cell with one observation changed, and the check that rests on it fails.
LedgerInput input_of(const CellResult& r) {
    const Ledger& L = *r.ledger;
    LedgerInput in;
    in.strategy = r.spec.strategy;
    in.transport = r.spec.transport;
    in.app = r.app;
    in.zerocopy = r.zerocopy;
    in.kernel_release = kernel_features().release;
    TracerView tv;
    tv.hooks = L.hooks;
    for (const NamespaceLedger& n : L.by_namespace) {
        if (n.role == NamespaceRole::sender) tv.sender_ns = n.inode, tv.sender = n.raw;
        if (n.role == NamespaceRole::receiver) tv.receiver_ns = n.inode, tv.receiver = n.raw;
    }
    in.tracer = tv;
    return in;
}

bool passes(const LedgerInput& in, const std::string& check) {
    for (const Check& c : compute_ledger(in).checks)
        if (c.name.rfind(check, 0) == 0) return c.passed;
    ADD_FAILURE() << check << " not evaluated";
    return false;
}

TEST_F(EvidenceLab, ContradictedEvidenceFails) {
    COPYSCOPE_REQUIRE_ROOT();
    CellResult r = run_cell(zero_copy_veth(8 * MiB), {tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    ASSERT_EQ(failed_checks(r), "");
    const LedgerInput real = input_of(r);
    ASSERT_TRUE(passes(real, "ledger: no user page reaches the receiver uncopied"));
    ASSERT_TRUE(passes(real, "ledger: every COPIED completion has a copy counted"));

    // User pages still flagged at the receive copy: no deferred copy can be claimed.
    LedgerInput flagged = real;
    flagged.tracer->receiver.recv_zc_flagged_bytes = 4096;
    EXPECT_FALSE(passes(flagged, "ledger: no user page reaches the receiver uncopied"));
    LedgerInput at_tcp = real;
    at_tcp.tracer->receiver.rx_zc_delivered_flagged_bytes = 65536;
    EXPECT_FALSE(passes(at_tcp, "ledger: no user page reaches the receiver uncopied"));

    // COPIED completions and no copy anywhere: an unaccounted copy.
    LedgerInput none = real;
    KernelCounts& k = none.tracer->receiver;
    k.rx_zc_bytes = k.rx_zc_delivered_bytes = k.deferred_bytes = 0;
    EXPECT_FALSE(passes(none, "ledger: every COPIED completion has a copy counted"));

    // Less left the device than was pinned, or more than pinned and retransmitted.
    const KernelCounts& s = real.tracer->sender;
    ASSERT_GT(s.zc_pinned_bytes, 0u);
    LedgerInput short_tx = real;
    short_tx.tracer->sender.xmit_zc_bytes = s.zc_pinned_bytes - 1;
    EXPECT_FALSE(passes(short_tx, "ledger: pinned <= zerocopy bytes transmitted"));
    LedgerInput long_tx = real;
    long_tx.tracer->sender.xmit_zc_bytes = s.zc_pinned_bytes + s.retrans_bytes + 1;
    EXPECT_FALSE(passes(long_tx, "ledger: pinned <= zerocopy bytes transmitted"));
}

// A copy cell does not copy user pages for a tap: tcpdump on the lab's veth changes nothing.
TEST_F(EvidenceLab, TcpdumpOnVethChangesNothingForOneCopy) {
    COPYSCOPE_REQUIRE_ROOT();
    CellSpec spec;
    spec.strategy = Strategy::one_copy;
    spec.message_size = 65536;
    spec.bytes = 16 * MiB;
    Tcpdump tap;
    CellResult r = run_cell(spec, {&tap, tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = ledger_json(r);
    EXPECT_DOUBLE_EQ(L["copies_per_byte"].get<double>(), 2.0);
    EXPECT_EQ(u64(L, "kernel_send_copy_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "receive_copy_bytes"), r.app.bytes_received);
    EXPECT_EQ(u64(L, "deferred_copy_bytes"), 0u);
    EXPECT_EQ(u64(L, "copy_site_tap_tx_bytes"), 0u);
    EXPECT_EQ(u64(L, "copy_site_tap_rx_bytes"), 0u);
}

// Zero-copy over veth with tcpdump on the sender's veth: every transmitted skb's clone is
// copied for the tap, and the receiver still copies at delivery.
TEST_F(EvidenceLab, TcpdumpOnVethCopiesAClonePerZerocopySkb) {
    COPYSCOPE_REQUIRE_ROOT();
    Tcpdump tap;
    CellResult r = run_cell(zero_copy_veth(16 * MiB), {&tap, tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = ledger_json(r);
    EXPECT_EQ(u64(L, "copy_site_tap_tx_bytes"), u64(L, "zerocopy_transmitted_bytes"));
    EXPECT_EQ(u64(L, "copy_site_tap_rx_bytes"), 0u);
    EXPECT_EQ(u64(L, "copy_site_receive_bytes"), u64(L, "delivered_copied_bytes"));
    const std::string v = L["verdict"];
    EXPECT_TRUE(contains(v, "for a packet tap on the sending device")) << v;
}

// nic to a sink on 127.0.0.1 with tcpdump on lo: the tap copies a clone on the way out and
// the skb itself on the way in, before local delivery would have.
TEST_F(EvidenceLab, TcpdumpDuringZeroCopyNicIsATapCopy) {
    COPYSCOPE_REQUIRE_ROOT();
    const uint16_t port = 5390 + (getpid() % 500);
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
    spec.strategy = Strategy::zero_copy;
    spec.transport = Transport::nic;
    spec.peer = peer;
    spec.message_size = 65536;
    spec.bytes = 16 * MiB;
    Tcpdump tap("lo");
    CellResult r = run_cell(spec, {&tap, tracer_});
    stop = true;
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = ledger_json(r);
    const uint64_t sent = u64(L, "zerocopy_transmitted_bytes");
    EXPECT_GE(sent, r.app.bytes_sent);
    EXPECT_EQ(u64(L, "copy_site_tap_tx_bytes"), sent);
    EXPECT_EQ(u64(L, "copy_site_tap_rx_bytes"), sent);
    EXPECT_EQ(u64(L, "copy_site_receive_bytes"), 0u);
    const std::string v = L["verdict"];
    EXPECT_TRUE(contains(v, "not effective on nic")) << v;
    EXPECT_TRUE(contains(v, "packet tap")) << v;
}

// A device without scatter-gather: TCP still pins at send (the route keeps NETIF_F_SG for
// GSO), and the pages are copied on the way out, only partly reported COPIED. Counted, so
// no COPIED completion is left unaccounted, and said in the verdict.
TEST_F(EvidenceLab, NoScatterGatherCopiesAreCountedAndSaid) {
    COPYSCOPE_REQUIRE_ROOT();
    NoScatterGather no_sg;
    CellResult r = run_cell(zero_copy_veth(8 * MiB), {&no_sg, tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    const nlohmann::json L = ledger_json(r);
    EXPECT_EQ(u64(L, "zerocopy_pinned_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "zerocopy_transmitted_bytes"), 0u);
    EXPECT_GE(u64(L, "copy_site_no_sg_bytes"), r.app.bytes_sent);
    EXPECT_EQ(u64(L, "copy_site_receive_bytes"), 0u);
    ASSERT_GT(r.zerocopy->completions_copied, 0u);
    const Check* unaccounted = check_named(r, "ledger: every COPIED completion");
    ASSERT_NE(unaccounted, nullptr);
    EXPECT_TRUE(unaccounted->passed) << unaccounted->detail;
    const std::string v = L["verdict"];
    EXPECT_TRUE(contains(v, "the device has no scatter-gather")) << v;
}

// ENOBUFS: the verdict names the sender namespace's optmem_max, and the kernel's count of
// failed sends is the runner's.
TEST_F(EvidenceLab, EnobufsNamesTheOptionMemoryLimit) {
    COPYSCOPE_REQUIRE_ROOT();
    Optmem small(1024);
    CellResult r = run_cell(zero_copy_veth(8 * MiB), {&small, tracer_});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    ASSERT_GT(r.zerocopy->enobufs, 0u) << "no ENOBUFS with optmem_max 1024";
    const nlohmann::json L = ledger_json(r);
    EXPECT_EQ(L["send_limits"]["optmem_max"], 1024);
    EXPECT_EQ(L["send_limits"]["optmem_max_scope"], "the sender's namespace");
    const nlohmann::json& raw = L["by_namespace"]["sender"]["raw"];
    EXPECT_EQ(u64(raw, "zc_enobufs_optmem") + u64(raw, "zc_enobufs_other"), r.zerocopy->enobufs);
    const std::string v = L["verdict"];
    EXPECT_TRUE(contains(v, "failed with ENOBUFS")) << v;
    EXPECT_TRUE(contains(v, "net.core.optmem_max 1024 (the sender's namespace)")) << v;
}

// MSG_ZEROCOPY on a socket without SO_ZEROCOPY is a plain copy, with no notification: the
// send hook counts it apart from the other fallback.
TEST(EvidenceKernel, ZerocopyWithoutSockoptIsCountedApart) {
    COPYSCOPE_REQUIRE_ROOT();
    BpfTracer bpf(plan_hooks(kernel_features(), HookMode::automatic));
    auto lab = Lab::create(Transport::veth);
    bpf.watch(lab->namespace_inodes());
    auto conns = open_connections(*lab, 1, 10);
    ASSERT_EQ(conns.size(), 1u);
    const size_t total = 4 * MiB;
    std::thread reader([&] {
        std::vector<char> buf(65536);
        size_t got = 0;
        while (got < total) {
            ssize_t n = recv(conns[0].receiver.get(), buf.data(), buf.size(), 0);
            if (n <= 0) break;
            got += n;
        }
    });
    std::vector<char> msg(65536, 'x');
    size_t sent = 0;
    while (sent < total) {
        ssize_t n = send(conns[0].sender.get(), msg.data(), msg.size(), MSG_ZEROCOPY);
        ASSERT_GT(n, 0) << std::strerror(errno);
        sent += n;
    }
    reader.join();
    const KernelCounts k = bpf.read(lab->sender_ns().inode());
    EXPECT_EQ(k.zc_no_sockopt_bytes, sent);
    EXPECT_EQ(k.zc_pinned_bytes, 0u);
    EXPECT_EQ(k.zc_fallback_bytes, 0u);
    EXPECT_EQ(k.xmit_zc_bytes, 0u);
    char control[128];
    msghdr m{};
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    EXPECT_EQ(recvmsg(conns[0].sender.get(), &m, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
    EXPECT_EQ(errno, EAGAIN); // no notification at all
}

// --hooks both: a second ledger from the tracepoint forms, on the same traffic. Here the
// tracepoint forms are all there is, so the two ledgers agree figure for figure.
TEST(EvidenceBoth, BothFormsGiveASecondLedgerOnTheSameTraffic) {
    COPYSCOPE_REQUIRE_ROOT();
    auto both = make_tracer({HookMode::both});
    CellSpec spec;
    spec.strategy = Strategy::zero_copy;
    spec.message_size = 65536;
    spec.bytes = 8 * MiB;
    CellResult r = run_cell(spec, {both.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(failed_checks(r), "");
    ASSERT_TRUE(r.tracepoint_ledger);
    EXPECT_EQ(to_json(*r.tracepoint_ledger)["tracer"]["hook_mode"], "prefer-tracepoints");
    EXPECT_EQ(ledger_json(r)["tracer"]["hook_mode"], "both");
    for (const ByteFigureDef& f : byte_figures) {
        const Measured<uint64_t>& a = r.ledger->figures.*f.field;
        const Measured<uint64_t>& t = r.tracepoint_ledger->figures.*f.field;
        ASSERT_EQ(a.supported(), t.supported()) << f.key;
        if (a) {
            EXPECT_EQ(*a, *t) << f.key;
        }
    }
    bool tracepoint_checks = false;
    for (const auto& c : r.checks)
        tracepoint_checks |= c.name.rfind("tracepoint path: ledger:", 0) == 0;
    EXPECT_TRUE(tracepoint_checks);
}

} // namespace
} // namespace copyscope
