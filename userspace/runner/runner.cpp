#include "runner/runner.h"

#include <chrono>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include "common/errors.h"
#include "lab/connections.h"
#include "lab/lab.h"
#include "strategies/sender.h"

namespace copyscope {

namespace {

using Clock = std::chrono::steady_clock;

struct ConnectionOutcome {
    SendCounts sent;
    std::optional<ZerocopyStats> zerocopy;
    uint64_t received = 0;
    uint64_t payload_errors = 0;
    Clock::time_point receiver_done{};
    std::string error;
};

// How many whole messages connection `index` sends in a byte-bounded cell.
uint64_t messages_for(const CellSpec& spec, unsigned index) {
    uint64_t total = (spec.bytes + spec.message_size - 1) / spec.message_size;
    return total / spec.threads + (index < total % spec.threads ? 1 : 0);
}

void sender_loop(const CellSpec& spec, unsigned index, int fd, std::latch& start,
                 const RunnerOptions& options, const std::vector<CellObserver*>& observers,
                 ConnectionOutcome& out) {
    for (CellObserver* o : observers) o->thread_begin(Role::sender);
    std::unique_ptr<MessageSender> sender;
    try {
        sender = make_sender(SenderOptions{spec.strategy, size_t(spec.message_size), fd,
                                           options.socket_timeout_seconds * 1000});
    } catch (const std::exception& e) {
        out.error = std::string("sender: ") + e.what();
    }
    start.arrive_and_wait(); // always: every thread of the cell waits for every other
    try {
        if (!sender) throw RunError("no sender");
        const bool timed = spec.duration_seconds > 0;
        const auto deadline =
            Clock::now() + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(spec.duration_seconds));
        const uint64_t quota = timed ? 0 : messages_for(spec, index);
        uint64_t offset = 0;
        for (uint64_t n = 0;; ++n) {
            if (timed ? Clock::now() >= deadline : n >= quota) break;
            if (options.stop && options.stop->load(std::memory_order_relaxed)) break;
            Message& m = sender->next_message();
            if (spec.verify_payload) m.fill_pattern(offset);
            sender->send();
            offset += m.size();
        }
        sender->finish();
        ::shutdown(fd, SHUT_WR); // end of stream: the receiver sees EOF
    } catch (const std::exception& e) {
        if (out.error.empty()) out.error = std::string("sender: ") + e.what();
        ::shutdown(fd, SHUT_RDWR); // wake the receiver
    }
    if (sender) {
        out.sent = sender->counts();
        out.zerocopy = sender->zerocopy();
    }
    for (CellObserver* o : observers) o->thread_end(Role::sender);
}

void receiver_loop(const CellSpec& spec, int fd, std::latch& start,
                   const std::vector<CellObserver*>& observers, ConnectionOutcome& out) {
    for (CellObserver* o : observers) o->thread_begin(Role::receiver);
    // One buffer, at least one message or 64 KiB, at most 1 MiB.
    std::vector<std::byte> buffer(std::clamp<size_t>(spec.message_size, 64u << 10, 1u << 20));
    start.arrive_and_wait();
    try {
        for (;;) {
            ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n == 0) break;
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    throw RunError("recv timed out: the sender stopped sending");
                throw RunError(errno_message("recv", errno));
            }
            if (spec.verify_payload)
                out.payload_errors += count_pattern_errors(buffer.data(), size_t(n), out.received);
            out.received += uint64_t(n);
        }
    } catch (const std::exception& e) {
        out.error = std::string("receiver: ") + e.what();
        ::shutdown(fd, SHUT_RDWR); // wake the sender
    }
    out.receiver_done = Clock::now();
    for (CellObserver* o : observers) o->thread_end(Role::receiver);
}

} // namespace

std::vector<Check> runner_checks(const CellResult& r) {
    std::vector<Check> checks;
    checks.push_back({"bytes_received_equal_sent", r.app.bytes_received == r.app.bytes_sent,
                      std::to_string(r.app.bytes_received) + " bytes received, " +
                          std::to_string(r.app.bytes_sent) + " sent"});
    if (r.spec.bytes > 0)
        checks.push_back({"bytes_requested_sent", r.app.bytes_sent >= r.spec.bytes,
                          std::to_string(r.app.bytes_sent) + " bytes sent of " +
                              std::to_string(r.spec.bytes) + " requested"});
    if (r.spec.verify_payload)
        checks.push_back({"payload_verified", r.app.payload_errors == 0 && r.app.bytes_received > 0,
                          std::to_string(r.app.payload_errors) + " wrong bytes in " +
                              std::to_string(r.app.bytes_received) + " received"});
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
    auto lab = Lab::create(spec.transport);
    auto connections = open_connections(*lab, spec.threads, options.socket_timeout_seconds);

    for (CellObserver* o : observers) o->cell_begin(spec, *lab);

    std::vector<ConnectionOutcome> outcomes(spec.threads);
    std::latch start(2 * std::ptrdiff_t(spec.threads) + 1);
    std::vector<std::jthread> threads;
    threads.reserve(2 * spec.threads);
    for (unsigned i = 0; i < spec.threads; ++i) {
        threads.emplace_back(receiver_loop, std::cref(spec), connections[i].receiver.get(),
                             std::ref(start), std::cref(observers), std::ref(outcomes[i]));
        threads.emplace_back(sender_loop, std::cref(spec), i, connections[i].sender.get(),
                             std::ref(start), std::cref(options), std::cref(observers),
                             std::ref(outcomes[i]));
    }
    start.arrive_and_wait();
    const Clock::time_point t0 = Clock::now();
    threads.clear(); // joins

    Clock::time_point last = t0;
    bool zerocopy = spec.strategy == Strategy::zero_copy;
    if (zerocopy) result.zerocopy = ZerocopyStats{};
    for (const ConnectionOutcome& o : outcomes) {
        result.app.bytes_sent += o.sent.bytes;
        result.app.messages_sent += o.sent.messages;
        result.app.send_calls += o.sent.calls;
        result.app.user_copy_bytes += o.sent.user_copy_bytes;
        result.app.bytes_received += o.received;
        result.app.payload_errors += o.payload_errors;
        last = std::max(last, o.receiver_done);
        if (o.zerocopy) {
            result.zerocopy->sends += o.zerocopy->sends;
            result.zerocopy->completions += o.zerocopy->completions;
            result.zerocopy->completions_copied += o.zerocopy->completions_copied;
            result.zerocopy->notifications += o.zerocopy->notifications;
            result.zerocopy->enobufs += o.zerocopy->enobufs;
            result.zerocopy->missing += o.zerocopy->missing;
        }
        if (!o.error.empty() && result.error.empty()) result.error = o.error;
    }
    result.seconds = std::chrono::duration<double>(last - t0).count();
    result.checks = runner_checks(result);
    for (CellObserver* o : observers) o->cell_end(result);
    return result;
}

} // namespace copyscope
