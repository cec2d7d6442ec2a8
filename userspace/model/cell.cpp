#include "model/cell.h"

#include <algorithm>

namespace copyscope {

std::string_view to_string(Strategy s) {
    switch (s) {
    case Strategy::two_copy:
        return "two-copy";
    case Strategy::per_field:
        return "per-field";
    case Strategy::one_copy:
        return "one-copy";
    case Strategy::zero_copy:
        return "zero-copy";
    case Strategy::sendfile:
        return "sendfile";
    case Strategy::io_uring:
        return "io-uring";
    case Strategy::io_uring_zc:
        return "io-uring-zc";
    case Strategy::io_uring_zc_fixed:
        return "io-uring-zc-fixed";
    }
    return "?";
}

std::string_view to_string(Transport t) {
    switch (t) {
    case Transport::veth:
        return "veth";
    case Transport::loopback:
        return "loopback";
    case Transport::forward:
        return "forward";
    case Transport::nic:
        return "nic";
    }
    return "?";
}

std::string_view to_string(Role r) {
    return r == Role::sender ? "sender" : "receiver";
}

std::string_view to_string(Pattern p) {
    return p == Pattern::stream ? "stream" : "rr";
}

std::optional<Pattern> pattern_from_string(std::string_view name) {
    for (Pattern p : {Pattern::stream, Pattern::rr})
        if (to_string(p) == name) return p;
    return std::nullopt;
}

std::optional<Strategy> strategy_from_string(std::string_view name) {
    for (Strategy s : all_strategies)
        if (to_string(s) == name) return s;
    return std::nullopt;
}

std::optional<Transport> transport_from_string(std::string_view name) {
    for (Transport t : all_transports)
        if (to_string(t) == name) return t;
    return std::nullopt;
}

std::string_view to_string(Protocol p) {
    return p == Protocol::tcp ? "tcp" : "udp";
}

std::string_view to_string(Receive r) {
    return r == Receive::copy ? "copy" : "zerocopy";
}

std::optional<Protocol> protocol_from_string(std::string_view name) {
    for (Protocol p : {Protocol::tcp, Protocol::udp})
        if (to_string(p) == name) return p;
    return std::nullopt;
}

std::optional<Receive> receive_from_string(std::string_view name) {
    for (Receive r : {Receive::copy, Receive::zerocopy})
        if (to_string(r) == name) return r;
    return std::nullopt;
}

double CellResult::gbits_per_second() const {
    // The mean over repetitions: the figure the confidence interval is about.
    if (!throughput.samples.empty()) {
        double sum = 0;
        for (double x : throughput.samples)
            sum += x;
        return sum / double(throughput.samples.size());
    }
    return seconds > 0 ? double(app.bytes_received) * 8 / seconds / 1e9 : 0;
}

double CellResult::messages_per_second() const {
    return seconds > 0 ? double(app.messages_sent) / seconds : 0;
}

double CellResult::microseconds_per_message() const {
    return app.messages_sent > 0 ? seconds * 1e6 / double(app.messages_sent) : 0;
}

bool CellResult::passed() const {
    return error.empty() &&
           std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.passed; });
}

std::optional<double> CellResult::busy_cpu_seconds() const {
    if (!counters || !counters->system || !*counters->system) return std::nullopt;
    const auto& cpu_time = (*counters->system)->cpu_time;
    if (!cpu_time) return std::nullopt;
    return cpu_time->busy_seconds;
}

std::optional<TracerCostShare> CellResult::tracer_cost_share() const {
    if (!tracer_cost || !*tracer_cost) return std::nullopt;
    return copyscope::tracer_cost_share(**tracer_cost, app.bytes_sent, busy_cpu_seconds());
}

} // namespace copyscope
