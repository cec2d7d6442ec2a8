#include "runner/traffic.h"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <system_error>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/errors.h"
#include "lab/lab.h"
#include "runner/receive_paths.h"
#include "runner/sink.h"

namespace copyscope {

namespace {

constexpr uint64_t kOpenEnd = std::numeric_limits<uint64_t>::max();

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

// One recv() of whatever is there; 0 at EOF.
size_t recv_some(int fd, std::byte* buf, size_t len) {
    for (;;) {
        ssize_t n = ::recv(fd, buf, len, 0);
        if (n >= 0) return size_t(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            throw RunError("recv timed out: the sender stopped sending");
        throw RunError(errno_message("recv", errno));
    }
}

void set_nodelay(int fd) {
    int one = 1;
    if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        throw RunError(errno_message("setsockopt(TCP_NODELAY)", errno));
}

// How many whole messages connection `index` sends in a byte-bounded phase.
uint64_t messages_for(const CellSpec& spec, unsigned index) {
    uint64_t total = (spec.bytes + spec.message_size - 1) / spec.message_size;
    return total / spec.threads + (index < total % spec.threads ? 1 : 0);
}

// What `after` adds to `before` (counts only grow; `missing` is a level, not a count).
ZerocopyStats since(const ZerocopyStats& after, const ZerocopyStats& before) {
    return ZerocopyStats{after.sends - before.sends,
                         after.completions - before.completions,
                         after.completions_copied - before.completions_copied,
                         after.notifications - before.notifications,
                         after.enobufs - before.enobufs,
                         after.missing};
}

// The payload of the datagrams sent but not received, size by size (none when a size was
// received more often than sent: the check on datagrams then fails on its own).
uint64_t bytes_missing(const std::map<uint32_t, uint64_t>& sent,
                       const std::map<uint32_t, uint64_t>& received) {
    uint64_t bytes = 0;
    for (const auto& [size, count] : sent) {
        auto it = received.find(size);
        const uint64_t got = it == received.end() ? 0 : it->second;
        if (got < count) bytes += (count - got) * size;
    }
    return bytes;
}

uint64_t socket_drops_or_zero(int fd) {
    try {
        return socket_drops(fd);
    } catch (const RunError&) {
        return 0;
    }
}

} // namespace

void add_io_uring(IoUringStats& into, const IoUringStats& more) {
    into.requests += more.requests;
    into.cqes += more.cqes;
    into.cqes_more += more.cqes_more;
    into.notifications += more.notifications;
    into.notifications_copied += more.notifications_copied;
    into.copied_request_bytes += more.copied_request_bytes;
    into.registered_buffers += more.registered_buffers;
    into.missing += more.missing;
    into.notification_wait_seconds += more.notification_wait_seconds;
    into.send_wait_seconds += more.send_wait_seconds;
}

void add_sendfile(SendfileStats& into, const SendfileStats& more) {
    into.file_bytes_written += more.file_bytes_written;
    into.ranges_released += more.ranges_released;
    into.bytes_released += more.bytes_released;
}

IoUringStats io_uring_since(const IoUringStats& a, const IoUringStats& b) {
    IoUringStats d;
    d.requests = a.requests - b.requests;
    d.cqes = a.cqes - b.cqes;
    d.cqes_more = a.cqes_more - b.cqes_more;
    d.notifications = a.notifications - b.notifications;
    d.notifications_copied = a.notifications_copied - b.notifications_copied;
    d.copied_request_bytes = a.copied_request_bytes - b.copied_request_bytes;
    d.registered_buffers = a.registered_buffers;
    d.missing = a.missing;
    d.notification_wait_seconds = a.notification_wait_seconds - b.notification_wait_seconds;
    d.send_wait_seconds = a.send_wait_seconds - b.send_wait_seconds;
    return d;
}

SendfileStats sendfile_since(const SendfileStats& a, const SendfileStats& b) {
    return SendfileStats{a.file_bytes_written - b.file_bytes_written,
                         a.ranges_released - b.ranges_released,
                         a.bytes_released - b.bytes_released};
}

void add_zerocopy(ZerocopyStats& into, const ZerocopyStats& more) {
    into.sends += more.sends;
    into.completions += more.completions;
    into.completions_copied += more.completions_copied;
    into.notifications += more.notifications;
    into.enobufs += more.enobufs;
    into.missing += more.missing;
}

// One connection and what its two threads share.
struct CellTraffic::Flow {
    Connection sockets;
    std::unique_ptr<MessageSender> sender;
    std::string setup_error; // the sender could not be set up
    uint64_t sent = 0;       // stream offset: bytes sent, all phases (sender thread)
    uint64_t received = 0;   // stream offset: bytes received, all phases (receiver thread)
    // The stream offset at which the phase ends: set by the runner for a byte-bounded
    // phase, by the sender before its last message for a timed one, so a receiver that has
    // read everything is always still waiting for that last message.
    std::atomic<uint64_t> end{kOpenEnd};
    std::atomic<bool> broken{false}; // a failure ended this stream
    std::vector<std::byte> buffer;   // the receiver's
    // udp: datagrams sent (all phases, sender thread), the stream's datagram count once the
    // sender's last message is known, and the receiving end.
    uint64_t datagrams_sent = 0;
    std::atomic<uint64_t> datagram_end{kOpenEnd};
    std::unique_ptr<DatagramReceiver> datagram_receiver;
    uint64_t phase_datagrams_sent = 0, phase_datagrams_received = 0;
    uint64_t phase_datagrams_dropped = 0, phase_bytes_dropped = 0;
    // The socket's drop counter at the end of the last phase (a new socket's is 0): the
    // sender may drop datagrams before this thread reads it at the start of a phase.
    uint64_t socket_drops_seen = 0;
    // receive zerocopy: the mapped window, and this phase's mapped and copied bytes.
    std::unique_ptr<MappedReceiver> mapped_receiver;
    uint64_t phase_mapped = 0, phase_copied = 0;
    // This phase's outcome.
    SendCounts sent_counts;
    std::optional<ZerocopyStats> zerocopy;
    std::optional<IoUringStats> io_uring;
    std::optional<SendfileStats> sendfile;
    uint64_t phase_received = 0;
    uint64_t payload_errors = 0;
    uint64_t responses = 0; // rr answers, a sink's tally
    std::vector<double> round_trips;
    Clock::time_point receiver_done{};
    std::string sender_error, receiver_error;
};

CellTraffic::CellTraffic(const CellSpec& spec, const Lab& lab, const RunnerOptions& options,
                         const ThreadPlacement& placement)
    : spec_(spec), options_(options), placement_(placement), remote_(!lab.has_local_receiver()),
      meet_(std::ptrdiff_t(spec.threads) * (remote_ ? 1 : 2) + 1) {
    std::optional<UdpOptions> udp;
    if (spec.protocol == Protocol::udp) {
        datagrams_ = plan_datagrams(spec.message_size, spec.udp_gso, spec.udp_cork);
        receiver_ns_ = &lab.receiver_ns();
        udp = UdpOptions{spec.udp_gso, kUdpReceiveBuffer};
    }
    auto connections = open_connections(lab, spec.threads, options.socket_timeout_seconds, udp);
    if (spec.pattern == Pattern::rr && !remote_) {
        // A round trip is one message and one answer: never hold either back (Nagle).
        for (Connection& c : connections) {
            set_nodelay(c.sender.get());
            set_nodelay(c.receiver.get());
        }
    }
    for (Connection& c : connections) {
        flows_.push_back(std::make_unique<Flow>());
        flows_.back()->sockets = std::move(c);
        if (datagrams_)
            flows_.back()->datagram_receiver = std::make_unique<DatagramReceiver>(*datagrams_);
    }
    const size_t expected = flows_.size() * (remote_ ? 1 : 2);
    threads_.reserve(expected);
    try {
        for (unsigned i = 0; i < flows_.size(); ++i) {
            if (!remote_) threads_.emplace_back(&CellTraffic::receiver_main, this, i);
            threads_.emplace_back(&CellTraffic::sender_main, this, i);
        }
    } catch (const std::system_error& e) {
        // Let the threads that did start meet without the others, and end.
        for (size_t missing = expected - threads_.size(); missing > 0; --missing)
            meet_.arrive_and_drop();
        ending_ = true;
        meet_.arrive_and_wait();
        threads_.clear();
        throw RunError(std::string("starting the connections' threads: ") + e.what());
    }
}

CellTraffic::~CellTraffic() {
    ending_ = true;
    meet_.arrive_and_wait();
    threads_.clear(); // joins
}

PhaseResult CellTraffic::run(double seconds, const std::vector<CellObserver*>& observers) {
    if (!usable_) throw RunError("the cell's connections can run no further phase");
    seconds_ = seconds;
    observers_ = &observers;
    for (unsigned i = 0; i < flows_.size(); ++i) {
        Flow& f = *flows_[i];
        f.end.store(seconds > 0 ? kOpenEnd : f.sent + messages_for(spec_, i) * spec_.message_size);
        if (datagrams_)
            f.datagram_end.store(seconds > 0 ? kOpenEnd
                                             : f.datagrams_sent + messages_for(spec_, i) *
                                                                      datagrams_->segments.size());
        f.phase_datagrams_sent = f.phase_datagrams_received = 0;
        f.phase_datagrams_dropped = f.phase_bytes_dropped = 0;
        f.phase_mapped = f.phase_copied = 0;
        f.sent_counts = {};
        f.zerocopy.reset();
        f.io_uring.reset();
        f.sendfile.reset();
        f.phase_received = f.payload_errors = f.responses = 0;
        f.round_trips.clear();
        f.receiver_done = {};
        f.sender_error.clear();
        f.receiver_error.clear();
    }
    const std::optional<NamespaceDrops> drops_before =
        receiver_ns_ ? std::optional(namespace_drops(*receiver_ns_)) : std::nullopt;
    meet_.arrive_and_wait(); // the phase is set
    meet_.arrive_and_wait(); // every thread is ready
    const Clock::time_point t0 = Clock::now();
    meet_.arrive_and_wait(); // the phase is over
    PhaseResult result = collect(t0);
    if (drops_before) {
        const NamespaceDrops after = namespace_drops(*receiver_ns_);
        result.app.namespace_udp_rcvbuf_errors =
            after.udp_rcvbuf_errors - drops_before->udp_rcvbuf_errors;
        result.app.namespace_udp_in_errors = after.udp_in_errors - drops_before->udp_in_errors;
        result.app.device_rx_dropped_packets =
            after.device_rx_dropped - drops_before->device_rx_dropped;
    }
    if (!result.error.empty() || remote_) usable_ = false;
    return result;
}

void CellTraffic::sender_main(unsigned index) {
    Flow& f = *flows_[index];
    try {
        placement_.apply(Role::sender, index);
        f.sender = make_sender(SenderOptions{
            .strategy = spec_.strategy,
            .message_size = size_t(spec_.message_size),
            .fd = f.sockets.sender.get(),
            .completion_timeout_ms = options_.socket_timeout_seconds * 1000,
            .datagrams = datagrams_ ? &*datagrams_ : nullptr});
    } catch (const std::exception& e) {
        f.setup_error = e.what();
    }
    for (;;) {
        meet_.arrive_and_wait();
        if (ending_) break;
        for (CellObserver* o : *observers_)
            o->thread_begin(Role::sender);
        meet_.arrive_and_wait();
        send_phase(f, index);
        for (CellObserver* o : *observers_)
            o->thread_end(Role::sender);
        meet_.arrive_and_wait();
    }
    if (!remote_) end_stream(f, Role::sender);
}

void CellTraffic::receiver_main(unsigned index) {
    Flow& f = *flows_[index];
    std::string placement_error;
    try {
        placement_.apply(Role::receiver, index);
    } catch (const std::exception& e) {
        placement_error = e.what();
    }
    for (;;) {
        meet_.arrive_and_wait();
        if (ending_) break;
        for (CellObserver* o : *observers_)
            o->thread_begin(Role::receiver);
        meet_.arrive_and_wait();
        if (!placement_error.empty()) f.receiver_error = "receiver: " + placement_error;
        receive_phase(f);
        for (CellObserver* o : *observers_)
            o->thread_end(Role::receiver);
        meet_.arrive_and_wait();
    }
    end_stream(f, Role::receiver);
}

void CellTraffic::send_phase(Flow& f, unsigned index) {
    const int fd = f.sockets.sender.get();
    const SendCounts counts_before = f.sender ? f.sender->counts() : SendCounts{};
    const auto zerocopy_before = f.sender ? f.sender->zerocopy() : std::nullopt;
    const auto io_uring_before = f.sender ? f.sender->io_uring() : std::nullopt;
    const auto sendfile_before = f.sender ? f.sender->sendfile() : std::nullopt;
    try {
        if (!f.setup_error.empty()) throw RunError(f.setup_error);
        const bool timed = seconds_ > 0;
        const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(seconds_));
        const uint64_t quota = timed ? 0 : messages_for(spec_, index);
        const bool rr = spec_.pattern == Pattern::rr;
        std::byte answer[kResponseSize];
        for (uint64_t n = 0; timed || n < quota; ++n) {
            const bool stop = options_.stop && options_.stop->load(std::memory_order_relaxed);
            const bool last = stop || (timed ? Clock::now() >= deadline : n + 1 >= quota);
            Message& m = f.sender->next_message();
            if (spec_.verify_payload) m.fill_pattern(f.sent);
            if (last) f.end.store(f.sent + m.size(), std::memory_order_release);
            if (last && datagrams_)
                f.datagram_end.store(f.datagrams_sent + datagrams_->segments.size(),
                                     std::memory_order_release);
            const auto sent_at = rr ? Clock::now() : Clock::time_point{};
            f.sender->send();
            f.sent += m.size();
            if (datagrams_) f.datagrams_sent += datagrams_->segments.size();
            if (rr) {
                if (!recv_exact(fd, answer, sizeof answer))
                    throw RunError("the receiver closed instead of answering");
                f.responses += sizeof answer;
                f.round_trips.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - sent_at).count());
            }
            if (last) break;
        }
        f.sender->finish(); // zero-copy: every completion of this phase read
        if (remote_) {
            // The sink counts until EOF, then answers with its tally.
            ::shutdown(fd, SHUT_WR);
            unsigned char raw[kSinkTallySize];
            if (!recv_exact(fd, reinterpret_cast<std::byte*>(raw), sizeof raw))
                throw RunError(
                    "the sink closed without its tally (is the peer a `copyscope sink`?)");
            SinkTally tally = decode_tally(raw);
            f.phase_received = tally.bytes;
            f.payload_errors = tally.pattern_errors;
            f.responses += kSinkTallySize;
            f.receiver_done = Clock::now();
        }
    } catch (const std::exception& e) {
        f.sender_error = std::string("sender: ") + e.what();
        f.broken = true;
        ::shutdown(fd, SHUT_RDWR); // wake the receiver
    }
    if (f.sender) {
        const SendCounts& c = f.sender->counts();
        f.sent_counts = SendCounts{
            c.bytes - counts_before.bytes, c.messages - counts_before.messages,
            c.calls - counts_before.calls, c.user_copy_bytes - counts_before.user_copy_bytes};
        if (datagrams_)
            f.phase_datagrams_sent = f.sent_counts.messages * datagrams_->segments.size();
        if (auto z = f.sender->zerocopy())
            f.zerocopy = since(*z, zerocopy_before.value_or(ZerocopyStats{}));
        if (auto u = f.sender->io_uring())
            f.io_uring = io_uring_since(*u, io_uring_before.value_or(IoUringStats{}));
        if (auto k = f.sender->sendfile())
            f.sendfile = sendfile_since(*k, sendfile_before.value_or(SendfileStats{}));
    }
}

void CellTraffic::receive_phase(Flow& f) {
    if (datagrams_) return receive_datagram_phase(f);
    if (spec_.receive == Receive::zerocopy) return receive_mapped_phase(f);
    const int fd = f.sockets.receiver.get();
    const bool rr = spec_.pattern == Pattern::rr;
    // One buffer: rr reads exactly one message into it; a stream reads whatever is there,
    // into at least one message or 64 KiB, at most 1 MiB.
    std::vector<std::byte>& buffer = f.buffer;
    buffer.resize(rr ? spec_.message_size
                     : std::clamp<size_t>(spec_.message_size, 64u << 10, 1u << 20));
    std::byte answer[kResponseSize] = {};
    const uint64_t start = f.received;
    try {
        if (!f.receiver_error.empty()) {
            ::shutdown(fd, SHUT_RDWR); // wake the sender
            f.broken = true;
            f.phase_received = 0;
            f.receiver_done = Clock::now();
            return;
        }
        while (f.received < f.end.load(std::memory_order_acquire)) {
            size_t got = 0;
            if (rr) {
                if (!recv_exact(fd, buffer.data(), buffer.size()))
                    got = 0;
                else
                    got = buffer.size();
            } else {
                got = recv_some(fd, buffer.data(), buffer.size());
            }
            if (got == 0) {
                // The sender ended the stream early (its own error says why, first).
                f.receiver_error = "receiver: the stream ended before the end of the repetition";
                f.broken = true;
                break;
            }
            if (spec_.verify_payload)
                f.payload_errors += count_pattern_errors(buffer.data(), got, f.received);
            f.received += got;
            if (rr) send_all(fd, answer, sizeof answer);
        }
    } catch (const std::exception& e) {
        f.receiver_error = std::string("receiver: ") + e.what();
        f.broken = true;
        ::shutdown(fd, SHUT_RDWR); // wake the sender
    }
    f.phase_received = f.received - start;
    f.receiver_done = Clock::now();
}

void CellTraffic::receive_datagram_phase(Flow& f) {
    const int fd = f.sockets.receiver.get();
    DatagramReceiver& r = *f.datagram_receiver;
    f.buffer.resize(kMaxUdpPayload + 1); // one more: a longer datagram shows as truncated
    try {
        r.receive(
            fd, spec_.verify_payload, f.buffer,
            [&f] { return f.datagram_end.load(std::memory_order_acquire); }, f.broken,
            kUdpQuietMilliseconds, options_.socket_timeout_seconds * 1000);
    } catch (const std::exception& e) {
        f.receiver_error = std::string("receiver: ") + e.what();
        f.broken = true;
    }
    f.received += r.phase_bytes;
    f.phase_received = r.phase_bytes;
    f.payload_errors = r.phase_errors;
    f.phase_datagrams_received = r.phase_datagrams;
    const uint64_t drops = socket_drops_or_zero(fd);
    f.phase_datagrams_dropped = drops - std::min(drops, f.socket_drops_seen);
    f.socket_drops_seen = drops;
    f.receiver_done = Clock::now();
}

void CellTraffic::receive_mapped_phase(Flow& f) {
    const int fd = f.sockets.receiver.get();
    f.buffer.resize(std::clamp<size_t>(spec_.message_size, 64u << 10, 1u << 20));
    const uint64_t start = f.received;
    try {
        if (!f.receiver_error.empty()) throw RunError(f.receiver_error);
        if (!f.mapped_receiver) f.mapped_receiver = std::make_unique<MappedReceiver>(fd);
        while (f.received < f.end.load(std::memory_order_acquire)) {
            if (f.broken) throw RunError("the sender failed");
            MappedReceiver::Got got = f.mapped_receiver->receive(
                f.buffer, f.received, spec_.verify_payload, options_.socket_timeout_seconds * 1000);
            if (got.eof) throw RunError("the stream ended before the end of the repetition");
            f.phase_mapped += got.mapped;
            f.phase_copied += got.copied;
            f.payload_errors += got.payload_errors;
            f.received += got.mapped + got.copied;
        }
    } catch (const std::exception& e) {
        f.receiver_error = std::string("receiver: ") + e.what();
        f.broken = true;
        ::shutdown(fd, SHUT_RDWR); // wake the sender
    }
    f.phase_received = f.received - start;
    f.receiver_done = Clock::now();
}

void CellTraffic::end_stream(Flow& f, Role role) {
    if (f.broken || datagrams_) return; // a datagram flow has no end of stream to read
    try {
        if (role == Role::sender) {
            ::shutdown(f.sockets.sender.get(), SHUT_WR);
            return;
        }
        // Read to the EOF the sender's shutdown sends, so both ends close cleanly.
        std::byte rest[4096];
        while (recv_some(f.sockets.receiver.get(), rest, sizeof rest) > 0) {
        }
    } catch (const std::exception&) {
        // The cell's results are in; a stream that does not end cleanly changes none.
    }
}

PhaseResult CellTraffic::collect(Clock::time_point t0) const {
    PhaseResult r;
    Clock::time_point last = t0;
    if (spec_.strategy == Strategy::zero_copy) r.zerocopy = ZerocopyStats{};
    if (uses_io_uring(spec_.strategy)) r.io_uring = IoUringStats{};
    if (spec_.strategy == Strategy::sendfile) r.sendfile = SendfileStats{};
    for (const auto& fp : flows_) {
        const Flow& f = *fp;
        r.app.bytes_sent += f.sent_counts.bytes;
        r.app.messages_sent += f.sent_counts.messages;
        r.app.send_calls += f.sent_counts.calls;
        r.app.user_copy_bytes += f.sent_counts.user_copy_bytes;
        r.app.bytes_received += f.phase_received;
        r.app.payload_errors += f.payload_errors;
        r.app.response_bytes += f.responses;
        r.round_trips.insert(r.round_trips.end(), f.round_trips.begin(), f.round_trips.end());
        last = std::max(last, f.receiver_done);
        if (f.zerocopy) add_zerocopy(*r.zerocopy, *f.zerocopy);
        if (f.io_uring) add_io_uring(*r.io_uring, *f.io_uring);
        if (f.sendfile) add_sendfile(*r.sendfile, *f.sendfile);
        r.app.datagrams_sent += f.phase_datagrams_sent;
        r.app.datagrams_received += f.phase_datagrams_received;
        r.app.datagrams_dropped += f.phase_datagrams_dropped;
        r.app.receive_mapped_bytes += f.phase_mapped;
        r.app.receive_copied_bytes += f.phase_copied;
        if (datagrams_ && f.datagram_receiver)
            r.app.bytes_dropped += bytes_missing(datagrams_->sizes_of(f.sent_counts.messages),
                                                 f.datagram_receiver->phase_sizes);
        if (r.error.empty()) r.error = !f.sender_error.empty() ? f.sender_error : f.receiver_error;
    }
    r.seconds = std::chrono::duration<double>(last - t0).count();
    return r;
}

} // namespace copyscope
