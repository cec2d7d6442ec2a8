#pragma once
// The report model: what one cell of a run asks for (CellSpec) and what it found (CellResult).
// Every part of copyscope writes into these; report.cpp turns them into JSON.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace copyscope {

enum class Strategy { two_copy, per_field, one_copy, zero_copy };
// veth: sender and receiver namespaces joined by a veth pair. loopback: one namespace, lo.
// forward: sender -> router -> receiver namespaces, two veth pairs, the router forwards.
// nic: the sender in copyscope's own namespace, sending to a `copyscope sink` elsewhere
// (another host, or the host side of a virtual machine) through a real network device.
enum class Transport { veth, loopback, forward, nic };
enum class Role { sender, receiver };
// stream: the sender sends as fast as it can. rr: request/response, the sender waits for a
// small answer after every message and times the round trip (netperf TCP_RR style).
enum class Pattern { stream, rr };

std::string_view to_string(Strategy s);
std::string_view to_string(Transport t);
std::string_view to_string(Role r);
std::string_view to_string(Pattern p);
std::optional<Pattern> pattern_from_string(std::string_view name);
std::optional<Strategy> strategy_from_string(std::string_view name);
std::optional<Transport> transport_from_string(std::string_view name);
inline constexpr Strategy all_strategies[] = {Strategy::two_copy, Strategy::per_field,
                                              Strategy::one_copy, Strategy::zero_copy};

struct CellSpec {
    Strategy strategy = Strategy::one_copy;
    Transport transport = Transport::veth;
    uint64_t message_size = 65536;
    unsigned threads = 1;
    double duration_seconds = 0; // > 0: each connection sends for this long
    uint64_t bytes = 0;          // > 0: the cell sends at least this many bytes, whole messages
    bool verify_payload = false;
    Pattern pattern = Pattern::stream;
    std::string peer; // nic: the sink's address, "HOST:PORT"
    // Repetitions: an uncounted warm-up, then repetitions until the 95% confidence interval
    // of throughput is within `precision` of the mean, or max_repetitions.
    double warmup_seconds = 0;
    unsigned min_repetitions = 1;
    unsigned max_repetitions = 1;
    double precision = 0.03;
};

// The rr pattern's answer: small, fixed.
inline constexpr size_t kResponseSize = 64;

// What the application did and saw, counted by the runner itself.
struct AppCounts {
    uint64_t bytes_sent = 0;
    uint64_t bytes_received = 0;
    uint64_t messages_sent = 0;
    uint64_t send_calls = 0;       // send()/sendmsg() calls that moved bytes
    uint64_t user_copy_bytes = 0;  // two-copy staging memcpy
    uint64_t payload_errors = 0;   // bytes that differed from the pattern (verify_payload)
    uint64_t response_bytes = 0;   // bytes the receiver sent back: rr answers, a sink's tally
};

// Throughput over the counted repetitions (Gbit/s per repetition).
struct ThroughputStats {
    std::vector<double> samples;
    bool converged = false;
};

// rr round trips, in microseconds.
struct LatencyStats {
    uint64_t round_trips = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};

// MSG_ZEROCOPY notifications read from the error queue (zero-copy cells only).
struct ZerocopyStats {
    uint64_t sends = 0;              // sendmsg(MSG_ZEROCOPY) calls that moved bytes (ids used)
    uint64_t completions = 0;        // sends covered by completion ranges
    uint64_t completions_copied = 0; // of those, in ranges flagged SO_EE_CODE_ZEROCOPY_COPIED
    uint64_t notifications = 0;      // error-queue messages read (ranges coalesce sends)
    uint64_t enobufs = 0;            // sendmsg returned ENOBUFS and was retried
    uint64_t missing = 0;            // sends whose completion never arrived
};

struct Check {
    std::string name;
    bool passed = false;
    std::string detail; // the numbers behind the verdict, in words
};

struct CellResult {
    CellSpec spec;
    double seconds = 0; // wall time from first send to last byte received, all repetitions
    AppCounts app;
    ThroughputStats throughput;
    std::optional<LatencyStats> latency;
    std::optional<ZerocopyStats> zerocopy;
    std::vector<Check> checks;
    std::string error;       // non-empty: the cell failed and says why
    nlohmann::json ledger;   // copy ledger (tracer); null when not traced
    nlohmann::json counters; // perf counters; null when not measured

    double gbits_per_second() const;
    double messages_per_second() const;
    double microseconds_per_message() const;
    bool passed() const; // no error and every check passed
};

} // namespace copyscope
