#include "runner/runner.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "common/errors.h"
#include "lab/lab.h"
#include "runner/traffic.h"
#include "stats/stats.h"

namespace copyscope {

namespace {

void accumulate(CellResult& result, const PhaseResult& rep) {
    AppCounts& a = result.app;
    a.bytes_sent += rep.app.bytes_sent;
    a.bytes_received += rep.app.bytes_received;
    a.messages_sent += rep.app.messages_sent;
    a.send_calls += rep.app.send_calls;
    a.user_copy_bytes += rep.app.user_copy_bytes;
    a.payload_errors += rep.app.payload_errors;
    a.response_bytes += rep.app.response_bytes;
    a.datagrams_sent += rep.app.datagrams_sent;
    a.datagrams_received += rep.app.datagrams_received;
    a.datagrams_dropped += rep.app.datagrams_dropped;
    a.bytes_dropped += rep.app.bytes_dropped;
    a.namespace_udp_rcvbuf_errors += rep.app.namespace_udp_rcvbuf_errors;
    a.namespace_udp_in_errors += rep.app.namespace_udp_in_errors;
    a.device_rx_dropped_packets += rep.app.device_rx_dropped_packets;
    a.receive_mapped_bytes += rep.app.receive_mapped_bytes;
    a.receive_copied_bytes += rep.app.receive_copied_bytes;
    if (rep.zerocopy) {
        if (!result.zerocopy) result.zerocopy = ZerocopyStats{};
        add_zerocopy(*result.zerocopy, *rep.zerocopy);
    }
    if (rep.io_uring) {
        // Registered buffers and missing notifications are levels: the last phase's.
        IoUringStats& u = result.io_uring ? *result.io_uring : result.io_uring.emplace();
        const uint64_t registered = rep.io_uring->registered_buffers;
        const uint64_t missing = rep.io_uring->missing;
        add_io_uring(u, *rep.io_uring);
        u.registered_buffers = registered;
        u.missing = missing;
    }
    if (rep.sendfile) {
        if (!result.sendfile) result.sendfile = SendfileStats{};
        add_sendfile(*result.sendfile, *rep.sendfile);
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

// udp: every datagram is received or dropped where the kernel counts drops: by the
// receiving socket (its drop counter), or before it, which only the namespace's devices
// count (rx_dropped, in packets: a GSO packet holds many datagrams), so datagrams missing
// beyond the socket's count are dropped only when those devices dropped packets. So is
// every byte. A lossy cell passes and says how much it lost.
void datagram_checks(const CellResult& r, std::vector<Check>& checks) {
    const AppCounts& a = r.app;
    const bool within = a.datagrams_received + a.datagrams_dropped <= a.datagrams_sent;
    const uint64_t before_socket =
        within ? a.datagrams_sent - a.datagrams_received - a.datagrams_dropped : 0;
    const bool counted = within && (before_socket == 0 || a.device_rx_dropped_packets > 0);
    checks.push_back(
        {"datagrams_received_plus_dropped_equal_sent", counted,
         std::to_string(a.datagrams_received) + " datagrams received + " +
             std::to_string(a.datagrams_dropped) +
             " dropped by the receiving socket (SO_MEMINFO; the namespace's Udp RcvbufErrors " +
             std::to_string(a.namespace_udp_rcvbuf_errors) + ") + " +
             std::to_string(before_socket) + " lost before it (the namespace's devices dropped " +
             std::to_string(a.device_rx_dropped_packets) + " packets), " +
             std::to_string(a.datagrams_sent) + " sent",
         true, "the receiver's count and the kernel's drop counters against the sender's"});
    const uint64_t lost_pct_x100 =
        a.bytes_sent ? (a.bytes_dropped * 10000 + a.bytes_sent / 2) / a.bytes_sent : 0;
    checks.push_back(
        {"bytes_received_plus_dropped_equal_sent",
         counted && a.bytes_received + a.bytes_dropped == a.bytes_sent,
         std::to_string(a.bytes_received) + " bytes received + " + std::to_string(a.bytes_dropped) +
             " in the datagrams dropped (" + std::to_string(lost_pct_x100 / 100) + "." +
             (lost_pct_x100 % 100 < 10 ? "0" : "") + std::to_string(lost_pct_x100 % 100) +
             "% lost), " + std::to_string(a.bytes_sent) + " sent",
         false, "the dropped bytes are those of the datagrams missing, by size"});
}

std::vector<Check> runner_checks(const CellResult& r) {
    std::vector<Check> checks;
    if (r.spec.protocol == Protocol::udp)
        datagram_checks(r, checks);
    else
        checks.push_back({"bytes_received_equal_sent", r.app.bytes_received == r.app.bytes_sent,
                          std::to_string(r.app.bytes_received) + " bytes received, " +
                              std::to_string(r.app.bytes_sent) + " sent",
                          true, "the receiver's count against the sender's"});
    if (r.spec.receive == Receive::zerocopy)
        checks.push_back(
            {"mapped_plus_copied_equal_received",
             r.app.receive_mapped_bytes + r.app.receive_copied_bytes == r.app.bytes_received,
             std::to_string(r.app.receive_mapped_bytes) + " bytes mapped + " +
                 std::to_string(r.app.receive_copied_bytes) + " copied, " +
                 std::to_string(r.app.bytes_received) + " received",
             false, "both sides are the receiver's own counts of what it was handed"});
    if (r.spec.bytes > 0) {
        uint64_t reps = r.throughput.samples.size();
        checks.push_back({"bytes_requested_sent", r.app.bytes_sent >= r.spec.bytes * reps,
                          std::to_string(r.app.bytes_sent) + " bytes sent of " +
                              std::to_string(r.spec.bytes) + " requested in each of " +
                              std::to_string(reps) + " repetitions",
                          true, "the sender's count against the bytes asked for"});
    }
    if (r.spec.verify_payload)
        checks.push_back({"payload_verified", r.app.payload_errors == 0 && r.app.bytes_received > 0,
                          std::to_string(r.app.payload_errors) + " wrong bytes in " +
                              std::to_string(r.app.bytes_received) + " received",
                          true, "every byte received compared with the pattern sent"});
    if (r.spec.pattern == Pattern::rr && r.spec.transport != Transport::nic) {
        uint64_t expected = r.app.messages_sent * kResponseSize;
        checks.push_back({"every_request_answered", r.app.response_bytes == expected,
                          std::to_string(r.app.response_bytes / kResponseSize) + " answers to " +
                              std::to_string(r.app.messages_sent) + " requests",
                          true, "answers received against requests sent"});
    }
    if (r.zerocopy) {
        const ZerocopyStats& z = *r.zerocopy;
        checks.push_back({"zerocopy_all_completions", z.missing == 0 && z.completions == z.sends,
                          std::to_string(z.completions) + " of " + std::to_string(z.sends) +
                              " zerocopy sends completed, " + std::to_string(z.missing) +
                              " missing",
                          true, "the kernel's notifications against the sends made"});
    }
    if (r.io_uring && uses_send_zc(r.spec.strategy)) {
        const IoUringStats& u = *r.io_uring;
        checks.push_back(
            {"io_uring_all_notifications",
             u.missing == 0 && u.notifications == u.cqes_more && u.notifications == u.requests,
             std::to_string(u.notifications) + " notifications for " + std::to_string(u.requests) +
                 " SEND_ZC requests (" + std::to_string(u.cqes_more) +
                 " send CQEs announced one), " + std::to_string(u.missing) + " missing"});
    }
    return checks;
}

CellResult run_cell(const CellSpec& spec, const std::vector<CellObserver*>& observers,
                    const RunnerOptions& options) {
    CellResult result;
    result.spec = spec;
    auto lab = Lab::create(spec.transport, spec.peer,
                           spec.receive == Receive::zerocopy ? kZerocopyReceiveMtu : 0,
                           !spec.tx_checksum_off);
    ThreadPlacement placement;
    placement.cpus = allowed_cpus();
    placement.how = resolve_placement(options.cpu_placement, spec, placement.cpus.size());

    // The connections and their threads last the whole cell, except toward a sink outside
    // the lab, which tells what it received only at the end of a stream: there each phase
    // has connections of its own.
    std::unique_ptr<CellTraffic> traffic;
    auto phase = [&](double seconds, const std::vector<CellObserver*>& watching) {
        if (!traffic || !traffic->usable()) {
            traffic.reset();
            traffic = std::make_unique<CellTraffic>(spec, *lab, options, placement);
        }
        return traffic->run(seconds, watching);
    };

    // The warm-up fills caches, faults pages in and lets TCP autotuning grow the socket
    // buffers; nobody watches it.
    if (spec.warmup_seconds > 0) {
        PhaseResult warm = phase(spec.warmup_seconds, {});
        if (!warm.error.empty()) result.error = "warm-up: " + warm.error;
    }
    for (CellObserver* o : observers)
        o->cell_begin(spec, *lab);
    std::vector<double> round_trips;
    const unsigned most = std::max(spec.max_repetitions, 1u);
    for (unsigned i = 0; i < most && result.error.empty(); ++i) {
        if (i > 0 && stopping(options)) break;
        PhaseResult rep = phase(spec.duration_seconds, observers);
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
    traffic.reset(); // ends the streams before the observers close the cell
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
