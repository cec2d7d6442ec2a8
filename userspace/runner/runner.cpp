#include "runner/runner.h"

#include <algorithm>
#include <chrono>
#include <latch>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/errors.h"
#include "lab/connections.h"
#include "lab/lab.h"
#include "runner/sink.h"
#include "stats/stats.h"
#include "strategies/sender.h"

namespace copyscope {

namespace {

using Clock = std::chrono::steady_clock;

// What one connection did in one repetition.
struct ConnectionOutcome {
    SendCounts sent;
    std::optional<ZerocopyStats> zerocopy;
    uint64_t received = 0;
    uint64_t payload_errors = 0;
    uint64_t responses = 0;          // rr: answer bytes the sender got back
    std::vector<double> round_trips; // rr: microseconds
    Clock::time_point receiver_done{};
    std::string error;
};

// How many whole messages connection `index` sends in a byte-bounded repetition.
uint64_t messages_for(const CellSpec& spec, unsigned index) {
    uint64_t total = (spec.bytes + spec.message_size - 1) / spec.message_size;
    return total / spec.threads + (index < total % spec.threads ? 1 : 0);
}

// Reads exactly `len` bytes; false on a clean EOF before the first byte.
bool recv_exact(int fd, std::byte* buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = ::recv(fd, buf + got, len - got, 0);
        if (n == 0) {
            if (got == 0) return false;
            throw RunError("connection closed in the middle of a message");
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                throw RunError("recv timed out: the peer stopped sending");
            throw RunError(errno_message("recv", errno));
        }
        got += size_t(n);
    }
    return true;
}

// The nic transport's receiver is a sink elsewhere: after EOF it answers with a tally of
// what it received, which stands in for our own receiver's count.
void read_sink_tally(int fd, ConnectionOutcome& out) {
    unsigned char raw[kSinkTallySize];
    if (!recv_exact(fd, reinterpret_cast<std::byte*>(raw), sizeof raw))
        throw RunError("the sink closed without its tally (is the peer a `copyscope sink`?)");
    SinkTally tally = decode_tally(raw);
    out.received = tally.bytes;
    out.payload_errors = tally.pattern_errors;
    out.responses += kSinkTallySize;
    out.receiver_done = Clock::now();
}

void sender_loop(const CellSpec& spec, double seconds, unsigned index, int fd, bool remote_sink,
                 std::latch& start, const RunnerOptions& options, const ThreadPlacement& placement,
                 const std::vector<CellObserver*>& observers, ConnectionOutcome& out) {
    for (CellObserver* o : observers)
        o->thread_begin(Role::sender);
    std::unique_ptr<MessageSender> sender;
    try {
        placement.apply(Role::sender, index);
        sender = make_sender(SenderOptions{spec.strategy, size_t(spec.message_size), fd,
                                           options.socket_timeout_seconds * 1000});
    } catch (const std::exception& e) {
        out.error = std::string("sender: ") + e.what();
    }
    start.arrive_and_wait(); // always: every thread of the repetition waits for every other
    try {
        if (!sender) throw RunError("no sender");
        const bool timed = seconds > 0;
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(seconds));
        const uint64_t quota = timed ? 0 : messages_for(spec, index);
        const bool rr = spec.pattern == Pattern::rr;
        std::byte answer[kResponseSize];
        uint64_t offset = 0;
        for (uint64_t n = 0;; ++n) {
            if (timed ? Clock::now() >= deadline : n >= quota) break;
            if (options.stop && options.stop->load(std::memory_order_relaxed)) break;
            Message& m = sender->next_message();
            if (spec.verify_payload) m.fill_pattern(offset);
            const auto sent_at = rr ? Clock::now() : Clock::time_point{};
            sender->send();
            offset += m.size();
            if (rr) {
                if (!recv_exact(fd, answer, sizeof answer))
                    throw RunError("the receiver closed instead of answering");
                out.responses += sizeof answer;
                out.round_trips.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - sent_at).count());
            }
        }
        sender->finish();
        ::shutdown(fd, SHUT_WR); // end of stream: the receiver sees EOF
        if (remote_sink) read_sink_tally(fd, out);
    } catch (const std::exception& e) {
        if (out.error.empty()) out.error = std::string("sender: ") + e.what();
        ::shutdown(fd, SHUT_RDWR); // wake the receiver
    }
    if (sender) {
        out.sent = sender->counts();
        out.zerocopy = sender->zerocopy();
    }
    for (CellObserver* o : observers)
        o->thread_end(Role::sender);
}

void receiver_loop(const CellSpec& spec, unsigned index, int fd, std::latch& start,
                   const ThreadPlacement& placement, const std::vector<CellObserver*>& observers,
                   ConnectionOutcome& out) {
    for (CellObserver* o : observers)
        o->thread_begin(Role::receiver);
    std::string placement_error;
    try {
        placement.apply(Role::receiver, index);
    } catch (const std::exception& e) {
        placement_error = e.what();
    }
    const bool rr = spec.pattern == Pattern::rr;
    // One buffer: rr reads exactly one message into it; a stream reads whatever is there,
    // into at least one message or 64 KiB, at most 1 MiB.
    std::vector<std::byte> buffer(rr ? spec.message_size
                                     : std::clamp<size_t>(spec.message_size, 64u << 10, 1u << 20));
    std::byte answer[kResponseSize] = {};
    start.arrive_and_wait();
    try {
        if (!placement_error.empty()) throw RunError(placement_error);
        for (;;) {
            size_t got = 0;
            if (rr) {
                if (!recv_exact(fd, buffer.data(), buffer.size())) break;
                got = buffer.size();
            } else {
                ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
                if (n == 0) break;
                if (n < 0) {
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN || errno == EWOULDBLOCK)
                        throw RunError("recv timed out: the sender stopped sending");
                    throw RunError(errno_message("recv", errno));
                }
                got = size_t(n);
            }
            if (spec.verify_payload)
                out.payload_errors += count_pattern_errors(buffer.data(), got, out.received);
            out.received += got;
            if (rr) send_all(fd, answer, sizeof answer);
        }
    } catch (const std::exception& e) {
        out.error = std::string("receiver: ") + e.what();
        ::shutdown(fd, SHUT_RDWR); // wake the sender
    }
    out.receiver_done = Clock::now();
    for (CellObserver* o : observers)
        o->thread_end(Role::receiver);
}

void set_nodelay(int fd) {
    int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        throw RunError(errno_message("setsockopt(TCP_NODELAY)", errno));
}

// One repetition: fresh connections, all senders and receivers at once, counts summed.
struct Repetition {
    AppCounts app;
    std::optional<ZerocopyStats> zerocopy;
    std::vector<double> round_trips;
    double seconds = 0;
    std::string error;
};

Repetition run_repetition(const CellSpec& spec, double seconds, const Lab& lab,
                          const std::vector<CellObserver*>& observers, const RunnerOptions& options,
                          const ThreadPlacement& placement) {
    auto connections = open_connections(lab, spec.threads, options.socket_timeout_seconds);
    if (spec.pattern == Pattern::rr && lab.has_local_receiver()) {
        // A round trip is one message and one answer: never hold either back (Nagle).
        for (Connection& c : connections) {
            set_nodelay(c.sender.get());
            set_nodelay(c.receiver.get());
        }
    }
    const bool remote = !lab.has_local_receiver();
    std::vector<ConnectionOutcome> outcomes(spec.threads);
    std::latch start((remote ? 1 : 2) * std::ptrdiff_t(spec.threads) + 1);
    std::vector<std::jthread> threads;
    threads.reserve(2 * spec.threads);
    for (unsigned i = 0; i < spec.threads; ++i) {
        if (!remote)
            threads.emplace_back(receiver_loop, std::cref(spec), i, connections[i].receiver.get(),
                                 std::ref(start), std::cref(placement), std::cref(observers),
                                 std::ref(outcomes[i]));
        threads.emplace_back(sender_loop, std::cref(spec), seconds, i, connections[i].sender.get(),
                             remote, std::ref(start), std::cref(options), std::cref(placement),
                             std::cref(observers), std::ref(outcomes[i]));
    }
    start.arrive_and_wait();
    const Clock::time_point t0 = Clock::now();
    threads.clear(); // joins

    Repetition rep;
    Clock::time_point last = t0;
    if (spec.strategy == Strategy::zero_copy) rep.zerocopy = ZerocopyStats{};
    for (ConnectionOutcome& o : outcomes) {
        rep.app.bytes_sent += o.sent.bytes;
        rep.app.messages_sent += o.sent.messages;
        rep.app.send_calls += o.sent.calls;
        rep.app.user_copy_bytes += o.sent.user_copy_bytes;
        rep.app.bytes_received += o.received;
        rep.app.payload_errors += o.payload_errors;
        rep.app.response_bytes += o.responses;
        rep.round_trips.insert(rep.round_trips.end(), o.round_trips.begin(), o.round_trips.end());
        last = std::max(last, o.receiver_done);
        if (o.zerocopy) {
            rep.zerocopy->sends += o.zerocopy->sends;
            rep.zerocopy->completions += o.zerocopy->completions;
            rep.zerocopy->completions_copied += o.zerocopy->completions_copied;
            rep.zerocopy->notifications += o.zerocopy->notifications;
            rep.zerocopy->enobufs += o.zerocopy->enobufs;
            rep.zerocopy->missing += o.zerocopy->missing;
        }
        if (!o.error.empty() && rep.error.empty()) rep.error = o.error;
    }
    rep.seconds = std::chrono::duration<double>(last - t0).count();
    return rep;
}

void accumulate(CellResult& result, const Repetition& rep) {
    AppCounts& a = result.app;
    a.bytes_sent += rep.app.bytes_sent;
    a.bytes_received += rep.app.bytes_received;
    a.messages_sent += rep.app.messages_sent;
    a.send_calls += rep.app.send_calls;
    a.user_copy_bytes += rep.app.user_copy_bytes;
    a.payload_errors += rep.app.payload_errors;
    a.response_bytes += rep.app.response_bytes;
    if (rep.zerocopy) {
        if (!result.zerocopy) result.zerocopy = ZerocopyStats{};
        ZerocopyStats& z = *result.zerocopy;
        z.sends += rep.zerocopy->sends;
        z.completions += rep.zerocopy->completions;
        z.completions_copied += rep.zerocopy->completions_copied;
        z.notifications += rep.zerocopy->notifications;
        z.enobufs += rep.zerocopy->enobufs;
        z.missing += rep.zerocopy->missing;
    }
    result.seconds += rep.seconds;
    if (rep.seconds > 0)
        result.throughput.samples.push_back(double(rep.app.bytes_received) * 8 / rep.seconds / 1e9);
    if (result.error.empty()) result.error = rep.error;
}

bool stopping(const RunnerOptions& options) {
    return options.stop && options.stop->load(std::memory_order_relaxed);
}

} // namespace

std::vector<Check> runner_checks(const CellResult& r) {
    std::vector<Check> checks;
    checks.push_back({"bytes_received_equal_sent", r.app.bytes_received == r.app.bytes_sent,
                      std::to_string(r.app.bytes_received) + " bytes received, " +
                          std::to_string(r.app.bytes_sent) + " sent"});
    if (r.spec.bytes > 0) {
        uint64_t reps = r.throughput.samples.size();
        checks.push_back({"bytes_requested_sent", r.app.bytes_sent >= r.spec.bytes * reps,
                          std::to_string(r.app.bytes_sent) + " bytes sent of " +
                              std::to_string(r.spec.bytes) + " requested in each of " +
                              std::to_string(reps) + " repetitions"});
    }
    if (r.spec.verify_payload)
        checks.push_back({"payload_verified", r.app.payload_errors == 0 && r.app.bytes_received > 0,
                          std::to_string(r.app.payload_errors) + " wrong bytes in " +
                              std::to_string(r.app.bytes_received) + " received"});
    if (r.spec.pattern == Pattern::rr && r.spec.transport != Transport::nic) {
        uint64_t expected = r.app.messages_sent * kResponseSize;
        checks.push_back({"every_request_answered", r.app.response_bytes == expected,
                          std::to_string(r.app.response_bytes / kResponseSize) + " answers to " +
                              std::to_string(r.app.messages_sent) + " requests"});
    }
    if (r.zerocopy) {
        const ZerocopyStats& z = *r.zerocopy;
        checks.push_back({"zerocopy_all_completions", z.missing == 0 && z.completions == z.sends,
                          std::to_string(z.completions) + " of " + std::to_string(z.sends) +
                              " zerocopy sends completed, " + std::to_string(z.missing) +
                              " missing"});
    }
    return checks;
}

CellResult run_cell(const CellSpec& spec, const std::vector<CellObserver*>& observers,
                    const RunnerOptions& options) {
    CellResult result;
    result.spec = spec;
    auto lab = Lab::create(spec.transport, spec.peer);
    ThreadPlacement placement;
    placement.cpus = allowed_cpus();
    placement.how = resolve_placement(options.cpu_placement, spec, placement.cpus.size());

    // The warm-up fills caches, grows socket buffers and faults pages in; nobody watches it.
    if (spec.warmup_seconds > 0) {
        Repetition warm = run_repetition(spec, spec.warmup_seconds, *lab, {}, options, placement);
        if (!warm.error.empty()) result.error = "warm-up: " + warm.error;
    }

    for (CellObserver* o : observers)
        o->cell_begin(spec, *lab);
    std::vector<double> round_trips;
    const unsigned most = std::max(spec.max_repetitions, 1u);
    for (unsigned i = 0; i < most && result.error.empty(); ++i) {
        if (i > 0 && stopping(options)) break;
        Repetition rep =
            run_repetition(spec, spec.duration_seconds, *lab, observers, options, placement);
        accumulate(result, rep);
        round_trips.insert(round_trips.end(), rep.round_trips.begin(), rep.round_trips.end());
        if (options.on_repetition) options.on_repetition(result);
        if (stopping(options)) break;
        Summary s = summarize(result.throughput.samples);
        if (i + 1 >= spec.min_repetitions && converged(s, spec.precision, spec.min_repetitions)) {
            result.throughput.converged = true;
            break;
        }
    }
    if (spec.pattern == Pattern::rr) {
        Percentiles p = percentiles(std::move(round_trips));
        result.latency = LatencyStats{p.n, p.p50, p.p90, p.p99, p.p999, p.max, p.mean};
    }
    result.checks = runner_checks(result);
    for (CellObserver* o : observers)
        o->cell_end(result);
    return result;
}

} // namespace copyscope
