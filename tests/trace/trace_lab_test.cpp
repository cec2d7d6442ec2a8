// `copyscope trace` end to end over a veth lab the test makes (two anonymous namespaces):
// the traced COMMAND runs in the sender's namespace through nsenter, its peer in the
// receiver's. Bytes and counts are compared with what the programs themselves report.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sched.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "common/unique_fd.h"
#include "http_client.h"
#include "lab/lab.h"
#include "lab/netns.h"
#include "prometheus_process.h"
#include "support/run_binary.h"
#include "support/system_probe.h"
#include "workload/child_cgroup.h"

namespace copyscope {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testsupport::run_copyscope;
using testsupport::temp_path;

// The 37-byte cookie (COOKIE_SIZE, iperf3 src/iperf.h) the client writes on every data
// connection before the test: iperf3 does not count it in sum_sent, the kernel does.
constexpr uint64_t kIperf3Cookie = 37;

std::string ns_path(const NetNs& ns) {
    return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(ns.fd());
}

// COMMAND run in `ns` through nsenter (what a user would type).
std::vector<std::string> in_ns(const NetNs& ns, std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"nsenter", "--net=" + ns_path(ns)});
    return argv;
}

// A process started in `ns`, its output thrown away; killed and reaped at the end.
class Peer {
  public:
    // `out`: a file for its stdout; `cgroup_dir`: a cgroup v2 it moves itself to first.
    Peer(const NetNs& ns, const std::vector<std::string>& argv, const std::string& out = "",
         const std::string& cgroup_dir = "") {
        pid_ = ::fork();
        if (pid_ == 0) {
            if (::setns(ns.fd(), CLONE_NEWNET) != 0) ::_exit(126);
            if (!cgroup_dir.empty()) {
                const int procs = ::open((cgroup_dir + "/cgroup.procs").c_str(), O_WRONLY);
                if (procs < 0 || ::write(procs, "0", 1) != 1) ::_exit(125);
                ::close(procs);
            }
            const int null = ::open("/dev/null", O_WRONLY);
            const int stdout_fd =
                out.empty() ? null : ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            ::dup2(stdout_fd, 1);
            ::dup2(null, 2);
            std::vector<char*> args;
            for (const std::string& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execvp(args[0], args.data());
            ::_exit(127);
        }
    }
    ~Peer() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    pid_t pid() const { return pid_; }
    int wait() {
        int status = 0;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    // Waits until it listens on TCP `port` (its namespace's /proc/PID/net/tcp).
    bool listening(uint16_t port) const {
        char hex[8];
        std::snprintf(hex, sizeof hex, ":%04X", port);
        for (int i = 0; i < 100; ++i) {
            std::ifstream in("/proc/" + std::to_string(pid_) + "/net/tcp");
            std::string line;
            while (std::getline(in, line)) {
                std::istringstream f(line);
                std::string sl, local, remote, st;
                f >> sl >> local >> remote >> st;
                if (local.size() > 5 && local.substr(local.size() - 5) == hex && st == "0A")
                    return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return false;
    }

  private:
    pid_t pid_ = -1;
};

json read_json(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
}

// Loaded BPF programs that only `copyscope trace` loads (cs_trace_...): other copyscope
// runs on the machine do not count.
int tracer_programs_loaded() {
    int n = 0;
    __u32 id = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        UniqueFd fd(bpf_prog_get_fd_by_id(id));
        if (!fd) continue;
        bpf_prog_info info{};
        __u32 len = sizeof info;
        if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 &&
            std::string(info.name).rfind("cs_trace_", 0) == 0)
            ++n;
    }
    return n;
}

// The kernel frees a program once its last reference is gone, a moment after the process
// that held it: polled for up to 5 s.
int programs_settled_at(int expected) {
    int n = tracer_programs_loaded();
    for (int i = 0; i < 100 && n != expected; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        n = tracer_programs_loaded();
    }
    return n;
}

const json* connection_with_local_port(const json& report, uint64_t port) {
    for (const json& p : report["processes"])
        for (const json& c : p["connections"])
            if (c["local"]["port"] == port) return &c;
    return nullptr;
}

size_t connection_count(const json& report) {
    size_t n = 0;
    for (const json& p : report["processes"])
        n += p["connections"].size();
    return n;
}

class TraceLab : public ::testing::Test {
  protected:
    void SetUp() override {
        COPYSCOPE_REQUIRE_ROOT();
        if (::access("/usr/bin/iperf3", X_OK) != 0) GTEST_SKIP() << "iperf3 not installed";
        lab_ = Lab::create(Transport::veth);
        programs_before_ = tracer_programs_loaded();
    }
    void TearDown() override {
        if (lab_) {
            EXPECT_EQ(programs_settled_at(programs_before_), programs_before_)
                << "BPF programs left";
        }
    }

    // iperf3 -c traced, the server in the receiver's namespace; returns iperf3's -J output.
    json traced_iperf3(const std::string& report, const std::vector<std::string>& extra,
                       uint16_t port = 5201, testsupport::BinaryResult* result = nullptr) {
        Peer server(lab_->receiver_ns(), {"iperf3", "-s", "-1", "-p", std::to_string(port), "-B",
                                          lab_->receiver_address()});
        EXPECT_TRUE(server.listening(port));
        std::vector<std::string> args = {"trace", "-q", "-o", report, "--"};
        std::vector<std::string> client = {
            "iperf3", "-c", lab_->receiver_address(), "-p", std::to_string(port), "-J"};
        client.insert(client.end(), extra.begin(), extra.end());
        if (std::find(extra.begin(), extra.end(), "-n") == extra.end())
            client.insert(client.end(), {"-t", "1"});
        for (const std::string& a : in_ns(lab_->sender_ns(), client))
            args.push_back(a);
        testsupport::BinaryResult r = run_copyscope(args, 60);
        EXPECT_EQ(r.status, 0) << r.err;
        if (result) *result = r;
        return r.out.empty() ? json() : json::parse(r.out);
    }

    // copyscope trace ARGS in the background, until its programs are loaded.
    pid_t background_trace(const std::vector<std::string>& args) {
        std::vector<std::string> all = {"trace", "-q"};
        all.insert(all.end(), args.begin(), args.end());
        const pid_t pid = testsupport::spawn_copyscope(all);
        bool loaded = false;
        for (int i = 0; i < 200 && !loaded; ++i) {
            loaded = tracer_programs_loaded() > programs_before_;
            if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_TRUE(loaded);
        std::this_thread::sleep_for(std::chrono::milliseconds(300)); // scope maps filled
        return pid;
    }

    // An iperf3 client in the sender's namespace, untraced by cgroup; its -J output.
    json iperf3_client(uint16_t port, const std::string& cgroup_dir = "",
                       std::vector<std::string> prefix = {}) {
        Peer server(lab_->receiver_ns(), {"iperf3", "-s", "-1", "-p", std::to_string(port), "-B",
                                          lab_->receiver_address()});
        EXPECT_TRUE(server.listening(port));
        const std::string out = temp_path("iperf3-client.json");
        std::vector<std::string> argv = prefix;
        for (const std::string& a :
             {std::string("iperf3"), std::string("-c"), lab_->receiver_address(), std::string("-p"),
              std::to_string(port), std::string("-n"), std::string("20M"), std::string("-J")})
            argv.push_back(a);
        Peer client(lab_->sender_ns(), argv, out, cgroup_dir);
        EXPECT_EQ(client.wait(), 0);
        return read_json(out);
    }

    // The data connection of `ip` in report `r`: its bytes as iperf3 counts them + the cookie.
    void expect_data_connection(const json& r, const json& ip) {
        ASSERT_TRUE(ip.contains("end")) << ip.dump();
        const json* data = connection_with_local_port(r, ip["start"]["connected"][0]["local_port"]);
        ASSERT_NE(data, nullptr) << r["processes"].dump();
        EXPECT_EQ((*data)["ledger"]["bytes_sent"],
                  uint64_t(ip["end"]["sum_sent"]["bytes"]) + kIperf3Cookie);
        EXPECT_EQ((*data)["ledger"]["kernel_send_copy_bytes"],
                  uint64_t(ip["end"]["sum_sent"]["bytes"]) + kIperf3Cookie);
    }

    json traced_uring_send(uint16_t port, bool fixed); // defined after Sink

    std::unique_ptr<Lab> lab_;
    int programs_before_ = 0;
    json uring_program_; // what the io_uring sender printed
};

// Without -Z iperf3 write()s: every byte of the data connection is copied at send. The data
// connection carries iperf3's 37-byte cookie besides sum_sent; the control connection (to
// the same server port) is reported apart.
TEST_F(TraceLab, Iperf3WriteIsCopiedAtSend) {
    const std::string report = temp_path("trace-iperf3.json");
    const json ip = traced_iperf3(report, {});
    ASSERT_TRUE(ip.contains("end")) << ip.dump();
    const uint64_t sum_sent = ip["end"]["sum_sent"]["bytes"];
    const uint64_t data_port = ip["start"]["connected"][0]["local_port"];
    const json r = read_json(report);
    EXPECT_EQ(r["schema"], "copyscope-trace");
    EXPECT_EQ(r["end"]["reason"], "command_exited");
    EXPECT_EQ(r["end"]["exit_status"], 0);
    const json* data = connection_with_local_port(r, data_port);
    ASSERT_NE(data, nullptr) << r["processes"].dump();
    const json& L = (*data)["ledger"];
    EXPECT_EQ(L["bytes_sent"], sum_sent + kIperf3Cookie);
    EXPECT_EQ(L["kernel_send_copy_bytes"], sum_sent + kIperf3Cookie);
    EXPECT_EQ(L["sent_by_reference_bytes"], 0);
    EXPECT_EQ(L["zerocopy_pinned_bytes"], 0);
    EXPECT_EQ(L["evidence"]["bytes_sent"], "exact");
    // The control connection: the other one to the server's port, a few hundred bytes.
    ASSERT_EQ(connection_count(r), 2u) << r["processes"].dump();
    for (const json& p : r["processes"]) {
        EXPECT_EQ(p["comm"], "iperf3");
        for (const json& c : p["connections"]) {
            EXPECT_EQ(c["remote"]["port"], 5201);
            if (c["local"]["port"] != data_port) {
                EXPECT_LT(c["ledger"]["bytes_sent"], 4096);
            }
        }
    }
}

// With -Z iperf3 sendfile()s: since 6.5 the pages go by reference (MSG_SPLICE_PAGES); only
// the cookie, written with write(), is copied.
TEST_F(TraceLab, Iperf3SendfileIsSentByReference) {
    const std::string report = temp_path("trace-iperf3-z.json");
    const json ip = traced_iperf3(report, {"-Z"});
    ASSERT_TRUE(ip.contains("end")) << ip.dump();
    const uint64_t sum_sent = ip["end"]["sum_sent"]["bytes"];
    const uint64_t data_port = ip["start"]["connected"][0]["local_port"];
    const json r = read_json(report);
    const json* data = connection_with_local_port(r, data_port);
    ASSERT_NE(data, nullptr) << r["processes"].dump();
    const json& L = (*data)["ledger"];
    if (L["sent_by_reference_bytes"].is_object())
        GTEST_SKIP() << "kernel before 6.5: " << L["sent_by_reference_bytes"].dump();
    EXPECT_EQ(L["sent_by_reference_bytes"], sum_sent);
    EXPECT_EQ(L["kernel_send_copy_bytes"], kIperf3Cookie);
    EXPECT_EQ(L["bytes_sent"], sum_sent + kIperf3Cookie);
    EXPECT_EQ(L["zerocopy_pinned_bytes"], 0);
}

// A receiver in the receiver's namespace: accepts `connections` connections one after another
// and reads each to the end (then closes it).
class Sink {
  public:
    Sink(const NetNs& ns, uint16_t port, int connections = 1) {
        NetnsGuard guard(ns);
        fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        const int one = 1;
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(fd_.get(), 4) != 0)
            throw std::runtime_error("sink: bind/listen");
        thread_ = std::thread([this, connections] {
            for (int i = 0; i < connections; ++i) {
                UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
                if (!c) return;
                char buf[65536];
                while (::read(c.get(), buf, sizeof buf) > 0) {
                } // the bytes are the sender's to count
            }
        });
    }
    ~Sink() {
        ::shutdown(fd_.get(), SHUT_RDWR);
        thread_.join();
    }

  private:
    UniqueFd fd_;
    std::thread thread_;
};

// The tests' own MSG_ZEROCOPY program: every byte it sent is pinned, and the completions the
// trace counts from its error-queue reads are the ones it read itself (over veth every one is
// COPIED: the receiver is in this kernel and copies the pages at local delivery).
TEST_F(TraceLab, MsgZerocopyProgramPinnedAndCompletionsAsRead) {
    Sink sink(lab_->receiver_ns(), 5301);
    const std::string report = temp_path("trace-zc.json");
    std::vector<std::string> args = {"trace", "-q", "-o", report, "--"};
    for (const std::string& a : in_ns(lab_->sender_ns(), {TRACE_ZC_SEND, lab_->receiver_address(),
                                                          "5301", "16777216", "65536"}))
        args.push_back(a);
    const auto res = run_copyscope(args, 60);
    ASSERT_EQ(res.status, 0) << res.err;
    const json program = json::parse(res.out);
    const json r = read_json(report);
    ASSERT_EQ(connection_count(r), 1u) << r["processes"].dump();
    const json& c = r["processes"][0]["connections"][0];
    const json& L = c["ledger"];
    EXPECT_EQ(L["bytes_sent"], program["sent"]);
    EXPECT_EQ(L["zerocopy_pinned_bytes"], program["sent"]);
    EXPECT_EQ(L["kernel_send_copy_bytes"], 0);
    EXPECT_EQ(L["completions"]["sends"], program["completions"]);
    EXPECT_EQ(L["completions"]["copied"], program["copied"]);
    EXPECT_EQ(L["completions"]["notifications"], program["notifications"]);
    EXPECT_EQ(program["completions"], program["sends"]);
}

// TCP_ZEROCOPY_RECEIVE traced: `copyscope run --receive zerocopy` (its own lab at MTU 61492,
// its own tracer off) as COMMAND; the receiving connection's mapped bytes are what the
// receiver counted itself, every call included (tcp_rcv_space_adjust puts a receiver that
// only maps in the table before the getsockopt program runs).
TEST_F(TraceLab, ZerocopyReceiveMappedPerConnection) {
    const std::string report = temp_path("trace-zcrx.json");
    const std::string cell = temp_path("run-zcrx.json");
    const auto res =
        run_copyscope({"trace", "-q",         "-o",       report, "--",        COPYSCOPE_BINARY,
                       "run",   "--receive",  "zerocopy", "-s",   "zero-copy", "--size",
                       "64K",   "-t",         "1",        "-b",   "8M",        "--transport",
                       "veth",  "--no-trace", "-o",       cell},
                      120);
    ASSERT_EQ(res.status, 0) << res.err;
    const json run = read_json(cell);
    const uint64_t mapped = run["cells"][0]["receive_zerocopy"]["mapped_bytes"];
    EXPECT_GT(mapped, 0u);
    const json r = read_json(report);
    EXPECT_EQ(r["hooks"]["receive_mapped"]["mechanism"], "cgroup_sockopt")
        << r["hooks"]["receive_mapped"].dump();
    std::vector<uint64_t> per_connection;
    for (const json& p : r["processes"])
        for (const json& c : p["connections"])
            if (const json& m = c["ledger"]["zerocopy_receive_mapped_bytes"];
                m.is_number_unsigned() && m.get<uint64_t>() > 0)
                per_connection.push_back(m);
    ASSERT_EQ(per_connection.size(), 1u) << r["processes"].dump();
    EXPECT_EQ(per_connection[0], mapped);
    EXPECT_EQ(r["totals"]["zerocopy_receive_mapped_bytes"], mapped);
    EXPECT_EQ(r["totals"]["evidence"]["zerocopy_receive_mapped_bytes"], "exact");
}

// The tests' io_uring sender traced (`fixed`: from registered buffers): its one connection's
// bytes and notifications are what it saw itself; the report, for the figures that differ.
json TraceLab::traced_uring_send(uint16_t port, bool fixed) {
    Sink sink(lab_->receiver_ns(), port);
    const std::string report = temp_path("trace-uring.json");
    std::vector<std::string> args = {"trace", "-q", "-o", report, "--"};
    std::vector<std::string> program = {TRACE_URING_SEND, lab_->receiver_address(),
                                        std::to_string(port), "64", "65536"};
    if (fixed) program.push_back("fixed");
    for (const std::string& a : in_ns(lab_->sender_ns(), program))
        args.push_back(a);
    const auto res = run_copyscope(args, 60);
    EXPECT_EQ(res.status, 0) << res.err;
    uring_program_ = json::parse(res.out);
    const json& u = uring_program_;
    EXPECT_GT(u["notifications"], 0) << res.out;
    EXPECT_EQ(u["notifications"], u["requests"]);
    const json r = read_json(report);
    EXPECT_EQ(connection_count(r), 1u) << r["processes"].dump();
    const json& L = r["processes"][0]["connections"][0]["ledger"];
    EXPECT_EQ(L["bytes_sent"], u["sent"]);
    EXPECT_EQ(L["kernel_send_copy_bytes"], 0);
    EXPECT_EQ(L["completions"]["notifications"], u["notifications"]);
    EXPECT_EQ(L["completions"]["sends"], u["notifications"]);
    EXPECT_EQ(L["completions"]["copied"], u["copied"]);
    return r;
}

// copyscope's own io-uring-zc sender (IORING_OP_SEND_ZC): every byte it sent is pinned, and
// the notification CQEs posted to its ring (over veth every one COPIED: the receiver copies
// the pages at local delivery) are its connection's completions.
TEST_F(TraceLab, IoUringSendZcPinnedAndNotificationsPerConnection) {
    const json r = traced_uring_send(5303, false);
    ASSERT_EQ(connection_count(r), 1u);
    const json& L = r["processes"][0]["connections"][0]["ledger"];
    EXPECT_EQ(L["zerocopy_pinned_bytes"], uring_program_["sent"]);
    EXPECT_EQ(L["registered_bytes"], 0);
}

// The same from buffers registered with the ring (io-uring-zc-fixed): its bytes are registered
// bytes, pinned once at registration, none per send.
TEST_F(TraceLab, IoUringSendZcFixedRegisteredPerConnection) {
    const json r = traced_uring_send(5304, true);
    ASSERT_EQ(connection_count(r), 1u);
    const json& L = r["processes"][0]["connections"][0]["ledger"];
    EXPECT_EQ(L["registered_bytes"], uring_program_["sent"]);
    EXPECT_EQ(L["zerocopy_pinned_bytes"], 0);
}

// Many short connections in sequence, each closed before the next opens (the allocator
// hands a new socket the memory of the one just freed): every one is its own connection in
// the report, with its own port and exactly its own bytes.
TEST_F(TraceLab, ShortConnectionsInSequenceAreEachTheirOwn) {
    constexpr int kConnections = 40;
    constexpr uint64_t kStep = 1000;
    Sink sink(lab_->receiver_ns(), 5302, kConnections);
    const std::string report = temp_path("trace-short.json");
    std::vector<std::string> args = {"trace", "-q", "-o", report, "--"};
    for (const std::string& a :
         in_ns(lab_->sender_ns(), {TRACE_SHORT_CONNS, lab_->receiver_address(), "5302",
                                   std::to_string(kConnections), std::to_string(kStep)}))
        args.push_back(a);
    const auto res = run_copyscope(args, 60);
    ASSERT_EQ(res.status, 0) << res.err;
    const json program = json::parse(res.out);
    ASSERT_EQ(program["connections"].size(), size_t(kConnections)) << res.out;
    const json r = read_json(report);
    ASSERT_EQ(connection_count(r), size_t(kConnections)) << r["processes"].dump();
    uint64_t total = 0;
    for (const json& conn : program["connections"]) {
        const json* c = connection_with_local_port(r, conn["local_port"]);
        ASSERT_NE(c, nullptr) << conn.dump() << r["processes"].dump();
        EXPECT_EQ((*c)["remote"]["port"], 5302);
        EXPECT_EQ((*c)["state"], "closed");
        EXPECT_EQ((*c)["ledger"]["bytes_sent"], conn["sent"]) << conn.dump();
        EXPECT_EQ((*c)["ledger"]["kernel_send_copy_bytes"], conn["sent"]) << conn.dump();
        total += uint64_t(conn["sent"]);
    }
    EXPECT_EQ(r["totals"]["bytes_sent"], total);
}

// A traced iperf3 server: its data connection is accepted during the trace and its first use
// is a receive (the client's cookie), which a receive copy alone cannot put in the table; the
// end of that recvmsg does, with the copies made before it. Every byte it read is counted.
TEST_F(TraceLab, ReceiverFirstSeenReceivingCountsEveryByte) {
    Peer watcher(lab_->receiver_ns(), {"sleep", "60"}); // sees the receiver's /proc/net/tcp
    const std::string report = temp_path("trace-server.json");
    std::vector<std::string> args = {"-o", report, "--"};
    for (const std::string& a : in_ns(lab_->receiver_ns(), {"iperf3", "-s", "-1", "-p", "5214",
                                                            "-B", lab_->receiver_address()}))
        args.push_back(a);
    const pid_t trace = background_trace(args);
    ASSERT_TRUE(watcher.listening(5214));
    const std::string out = temp_path("iperf3-to-traced.json");
    Peer client(lab_->sender_ns(),
                {"iperf3", "-c", lab_->receiver_address(), "-p", "5214", "-n", "20M", "-J"}, out);
    EXPECT_EQ(client.wait(), 0);
    ASSERT_EQ(testsupport::wait_for(trace, 30), 0);
    const json ip = read_json(out);
    ASSERT_TRUE(ip.contains("end")) << ip.dump();
    const json r = read_json(report);
    const uint64_t client_port = ip["start"]["connected"][0]["local_port"];
    const json* data = nullptr;
    for (const json& p : r["processes"])
        for (const json& c : p["connections"])
            if (c["remote"]["port"] == client_port) data = &c;
    ASSERT_NE(data, nullptr) << r["processes"].dump();
    EXPECT_EQ((*data)["local"]["port"], 5214);
    // sum_received: what the server read (it stops at the end of the test, unread bytes left).
    EXPECT_EQ((*data)["ledger"]["receive_copy_bytes"],
              uint64_t(ip["end"]["sum_received"]["bytes"]) + kIperf3Cookie);
}

// A program that sends nothing: an empty ledger, its exit status passed on.
TEST_F(TraceLab, NothingSentIsAnEmptyLedger) {
    const std::string report = temp_path("trace-empty.json");
    const auto res = run_copyscope({"trace", "-q", "-o", report, "--", "sh", "-c", "exit 7"});
    EXPECT_EQ(res.status, 7) << res.err;
    const json r = read_json(report);
    EXPECT_TRUE(r["processes"].empty());
    EXPECT_EQ(r["totals"]["bytes_sent"], 0);
    EXPECT_EQ(r["end"]["exit_status"], 7);
}

// Not a terminal: one plain line per --interval and the summary on stderr; --quiet: nothing.
TEST_F(TraceLab, LiveLinesOnStderrAndNothingWithQuiet) {
    const std::string report = temp_path("trace-live.json");
    const auto live =
        run_copyscope({"trace", "--interval", "0.2", "-o", report, "--", "sleep", "1"});
    EXPECT_EQ(live.status, 0) << live.err;
    EXPECT_EQ(live.err.rfind("trace 0s: sent 0 B", 0), 0u) << live.err;
    EXPECT_GE(std::count(live.err.begin(), live.err.end(), '\n'), 4) << live.err;
    EXPECT_NE(live.err.find("no connection in scope sent or received anything"), std::string::npos)
        << live.err;
    EXPECT_NE(live.err.find("report: " + report), std::string::npos) << live.err;
    const auto quiet =
        run_copyscope({"trace", "-q", "--interval", "0.2", "-o", report, "--", "sleep", "1"});
    EXPECT_EQ(quiet.status, 0);
    EXPECT_EQ(quiet.err, "");
}

// COMMAND killed: the trace ends with it, reports, and passes on 128 + the signal.
TEST_F(TraceLab, EndsWhenCommandIsKilled) {
    const std::string report = temp_path("trace-killed.json");
    const auto res = run_copyscope({"trace", "-q", "-o", report, "--", "sh", "-c", "kill -9 $$"});
    EXPECT_EQ(res.status, 137) << res.err;
    const json r = read_json(report);
    EXPECT_EQ(r["end"]["reason"], "command_exited");
    EXPECT_EQ(r["end"]["exit_status"], 137);
}

// Two traces of different COMMANDs at once: each sees its own connections only, although
// entries outlive their sockets and a new socket may take a freed one's memory (the table is
// keyed by the socket's cookie, never reused).
TEST_F(TraceLab, TwoTracesDoNotSeeEachOthersBytes) {
    const std::string r1 = temp_path("trace-a.json"), r2 = temp_path("trace-b.json");
    json ip1, ip2;
    std::thread other([&] { ip2 = traced_iperf3(r2, {"-n", "20M"}, 5202); });
    ip1 = traced_iperf3(r1, {"-n", "30M"}, 5201);
    other.join();
    for (const auto& [ip, path, port] : {std::tuple(&ip1, r1, 5201), std::tuple(&ip2, r2, 5202)}) {
        ASSERT_TRUE(ip->contains("end")) << ip->dump();
        const json r = read_json(path);
        ASSERT_EQ(connection_count(r), 2u) << r["processes"].dump();
        for (const json& p : r["processes"])
            for (const json& c : p["connections"])
                EXPECT_EQ(c["remote"]["port"], port) << path;
        const json* data =
            connection_with_local_port(r, (*ip)["start"]["connected"][0]["local_port"]);
        ASSERT_NE(data, nullptr);
        EXPECT_EQ((*data)["ledger"]["bytes_sent"],
                  uint64_t((*ip)["end"]["sum_sent"]["bytes"]) + kIperf3Cookie);
    }
}

// --netns: every socket of the sender's namespace; the receiver's are not in scope.
TEST_F(TraceLab, NetnsScopeSeesEverySocketOfTheNamespace) {
    const std::string report = temp_path("trace-netns.json");
    const pid_t trace =
        background_trace({"-o", report, "--netns", ns_path(lab_->sender_ns()), "--duration", "4"});
    const json ip = iperf3_client(5211);
    ASSERT_EQ(testsupport::wait_for(trace, 30), 0);
    const json r = read_json(report);
    EXPECT_EQ(r["end"]["reason"], "duration");
    EXPECT_EQ(r["scope"]["who"], "netns");
    expect_data_connection(r, ip);
    for (const json& p : r["processes"])
        for (const json& c : p["connections"]) {
            EXPECT_EQ(c["local"]["address"], "198.18.0.1");
            EXPECT_EQ(c["netns"], lab_->sender_ns().inode());
        }
}

// --cgroup: the sockets created in that cgroup v2, whoever runs there.
TEST_F(TraceLab, CgroupScopeSeesTheSocketsMadeThere) {
    const Cgroup2Mount mount = find_cgroup2_mount();
    const std::string dir =
        mount.mount_point + "/copyscope-test-trace-" + std::to_string(::getpid());
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    const std::string report = temp_path("trace-cgroup.json");
    const pid_t trace = background_trace({"-o", report, "--cgroup", dir, "--duration", "4"});
    const json ip = iperf3_client(5212, dir);
    ASSERT_EQ(testsupport::wait_for(trace, 30), 0);
    EXPECT_EQ(::rmdir(dir.c_str()), 0);
    const json r = read_json(report);
    EXPECT_EQ(r["scope"]["who"], "cgroup");
    expect_data_connection(r, ip);
    EXPECT_EQ(connection_count(r), 2u) << r["processes"].dump(); // data and control
}

// --pid: the sockets a process uses (here made after the trace started: all its bytes);
// the trace ends when it exits.
TEST_F(TraceLab, PidScopeFollowsTheProcessAndEndsWithIt) {
    Peer server(lab_->receiver_ns(),
                {"iperf3", "-s", "-1", "-p", "5213", "-B", lab_->receiver_address()});
    ASSERT_TRUE(server.listening(5213));
    const std::string out = temp_path("iperf3-pid.json");
    // sh waits for a line on its stdin (a fifo), then becomes iperf3 (same pid).
    const std::string fifo = temp_path("trace-pid.fifo");
    fs::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    Peer client(lab_->sender_ns(),
                {"sh", "-c",
                 "read go < " + fifo + "; exec iperf3 -c " + lab_->receiver_address() +
                     " -p 5213 -n 20M -J"},
                out);
    const std::string report = temp_path("trace-pid.json");
    const pid_t pid = client.pid();
    const pid_t trace = background_trace({"-o", report, "--pid", std::to_string(pid)});
    std::ofstream(fifo) << "go\n";
    EXPECT_EQ(client.wait(), 0);
    ASSERT_EQ(testsupport::wait_for(trace, 30), 0);
    fs::remove(fifo);
    const json r = read_json(report);
    EXPECT_EQ(r["end"]["reason"], "processes_exited");
    expect_data_connection(r, read_json(out));
    ASSERT_EQ(r["processes"].size(), 1u) << r["processes"].dump();
    EXPECT_EQ(r["processes"][0]["pid"], pid);
    EXPECT_EQ(r["processes"][0]["comm"], "iperf3");
}

// --metrics: the live exposition passes promtool, Debian's Prometheus scrapes it, and its
// bytes are the report's; SIGINT to copyscope ends the trace (passed on to COMMAND).
TEST_F(TraceLab, MetricsServedPromtoolCleanAndScraped) {
    if (::access(testsupport::kPrometheus, X_OK) != 0 || ::access("/usr/bin/promtool", X_OK) != 0)
        GTEST_SKIP() << "prometheus not installed";
    Peer server(lab_->receiver_ns(),
                {"iperf3", "-s", "-1", "-p", "5221", "-B", lab_->receiver_address()});
    ASSERT_TRUE(server.listening(5221));
    const uint16_t port = testsupport::free_port();
    const std::string report = temp_path("trace-metrics.json");
    const std::string out = temp_path("trace-metrics-iperf3.json");
    fs::remove(out);
    const std::string client = "nsenter --net=" + ns_path(lab_->sender_ns()) + " iperf3 -c " +
                               lab_->receiver_address() + " -p 5221 -n 20M -J > " + out +
                               "; exec sleep 60";
    const pid_t trace =
        background_trace({"-o", report, "--interval", "0.2", "--metrics",
                          "127.0.0.1:" + std::to_string(port), "--", "sh", "-c", client});
    json ip;
    for (int i = 0; i < 200 && ip.is_null(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::ifstream in(out);
        ip = json::parse(in, nullptr, false);
        if (ip.is_discarded()) ip = nullptr;
    }
    ASSERT_TRUE(ip.contains("end")) << ip.dump();
    std::this_thread::sleep_for(std::chrono::milliseconds(500)); // one more interval
    const auto reply = testsupport::http_get(port, "/metrics");
    ASSERT_EQ(reply.status, 200);
    const std::string exposition = temp_path("trace-metrics.prom");
    std::ofstream(exposition) << reply.body;
    EXPECT_EQ(std::system(("promtool check metrics < " + exposition + " 2>&1").c_str()), 0)
        << reply.body;
    EXPECT_NE(reply.body.find("copyscope_sent_bytes_total{process=\"iperf3\""), std::string::npos)
        << reply.body;
    char tmpl[] = "/tmp/copyscope-trace-prometheus-XXXXXX";
    const fs::path dir = ::mkdtemp(tmpl);
    json sample;
    {
        testsupport::PrometheusProcess prometheus(dir, port);
        sample =
            prometheus.first_sample("copyscope_sent_bytes_total{process=\"iperf3\",path=\"copy\"}");
        if (sample.is_null()) ADD_FAILURE() << prometheus.log();
    }
    fs::remove_all(dir);
    ::kill(trace, SIGINT);
    EXPECT_EQ(testsupport::wait_for(trace, 30), 128 + SIGINT);
    const json r = read_json(report);
    EXPECT_EQ(r["end"]["reason"], "signal");
    expect_data_connection(r, ip);
    ASSERT_FALSE(sample.is_null());
    ASSERT_EQ(r["processes"].size(), 1u);
    EXPECT_EQ(sample["value"][1],
              std::to_string(uint64_t(r["processes"][0]["totals"]["kernel_send_copy_bytes"])));
}

// Bad input: one line on stderr, exit 2, nothing started (no report written).
TEST_F(TraceLab, BadInputIsOneLineAndExit2) {
    const std::string report = temp_path("trace-bad.json");
    fs::remove(report);
    UniqueFd busy(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ASSERT_EQ(::bind(busy.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(busy.get(), 1), 0);
    ::getsockname(busy.get(), reinterpret_cast<sockaddr*>(&a), &len);
    const std::string port = std::to_string(ntohs(a.sin_port));
    const std::vector<std::vector<std::string>> cases = {
        {"--pid", "999999999"},
        {"--pid", "0x12"},
        {"--cgroup", "/sys/fs/cgroup/memory"},
        {"--cgroup", "/no/such/cgroup"},
        {"--netns", "/no/such/netns"},
        {"--", "no-such-command-copyscope"},
        {"--metrics", "127.0.0.1:" + port, "--", "true"},
        {"--interval", "0", "--", "true"},
        {"--hooks", "magic", "--", "true"},
        {},
    };
    for (const auto& c : cases) {
        std::vector<std::string> args = {"trace", "-o", report};
        args.insert(args.end(), c.begin(), c.end());
        const auto res = run_copyscope(args, 30);
        EXPECT_EQ(res.status, 2) << testing::PrintToString(c) << ": " << res.err;
        EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1)
            << testing::PrintToString(c) << ": " << res.err;
        EXPECT_FALSE(fs::exists(report)) << testing::PrintToString(c);
    }
    const auto nobody = run_copyscope({"trace", "-o", report, "--", "true"}, 30, 65534);
    EXPECT_EQ(nobody.status, 2) << nobody.err;
    EXPECT_NE(nobody.err.find("root"), std::string::npos) << nobody.err;
    EXPECT_FALSE(fs::exists(report));
}

// SIGKILL of copyscope: the kernel drops its programs with its file descriptors. COMMAND
// outlives it in its cgroup; the test ends it.
TEST_F(TraceLab, NothingLoadedAfterSigkill) {
    const pid_t pid = testsupport::spawn_copyscope(
        {"trace", "-q", "-o", temp_path("trace-sigkill.json"), "--", "sleep", "60"});
    bool loaded = false;
    for (int i = 0; i < 200 && !loaded; ++i) {
        loaded = tracer_programs_loaded() > programs_before_;
        if (!loaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(loaded);
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // COMMAND started
    ::kill(pid, SIGKILL);
    EXPECT_EQ(testsupport::wait_for(pid, 10), 128 + SIGKILL);
    EXPECT_EQ(programs_settled_at(programs_before_), programs_before_);
    // The sleep left in copyscope-trace-<pid>: killed, its cgroup removed.
    const Cgroup parent = default_trace_parent(find_cgroup2_mount());
    const std::string dir = parent.dir + "/copyscope-trace-" + std::to_string(pid);
    ASSERT_TRUE(fs::exists(dir));
    std::ofstream(dir + "/cgroup.kill") << "1";
    bool removed = false;
    for (int i = 0; i < 100 && !removed; ++i) {
        removed = ::rmdir(dir.c_str()) == 0;
        if (!removed) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(removed);
}

} // namespace
} // namespace copyscope
