#include "report/csv.h"

#include <sstream>

namespace copyscope {

const std::vector<CsvColumn>& csv_columns() {
    static const std::vector<CsvColumn> columns = {
        {"strategy", "/strategy"},
        {"transport", "/transport"},
        {"pattern", "/pattern"},
        {"message_size_bytes", "/message_size"},
        {"threads", "/threads"},
        {"repetitions", "/repetitions"},
        {"converged", "/throughput/converged"},
        {"throughput_mean_gbit_per_s", "/throughput/mean"},
        {"throughput_stddev_gbit_per_s", "/throughput/stddev"},
        {"throughput_ci95_low_gbit_per_s", "/throughput/ci95_low"},
        {"throughput_ci95_high_gbit_per_s", "/throughput/ci95_high"},
        {"throughput_ci95_relative", "/throughput/ci95_relative"},
        {"messages_per_s", "/messages_per_second"},
        {"time_per_message_us", "/microseconds_per_message"},
        {"seconds", "/seconds"},
        {"bytes_sent", "/bytes_sent"},
        {"bytes_received", "/bytes_received"},
        {"messages", "/messages"},
        {"send_calls", "/send_calls"},
        {"passed", "/passed"},
        {"latency_p50_us", "/latency/p50_us"},
        {"latency_p90_us", "/latency/p90_us"},
        {"latency_p99_us", "/latency/p99_us"},
        {"latency_p999_us", "/latency/p999_us"},
        {"latency_max_us", "/latency/max_us"},
        {"copies_per_byte", "/ledger/copies_per_byte"},
        {"user_copy_bytes", "/ledger/user_copy_bytes"},
        {"kernel_send_copy_bytes", "/ledger/kernel_send_copy_bytes"},
        {"zerocopy_pinned_bytes", "/ledger/zerocopy_pinned_bytes"},
        {"pinned_pages", "/ledger/pinned_pages"},
        {"zerocopy_fallback_bytes", "/ledger/zerocopy_fallback_bytes"},
        {"deferred_copy_bytes", "/ledger/deferred_copy_bytes"},
        {"deferred_copy_percent", "/ledger/deferred_copy_percent"},
        {"receive_copy_bytes", "/ledger/receive_copy_bytes"},
        {"retransmit_bytes", "/ledger/retransmit_bytes"},
        {"verdict", "/ledger/verdict"},
        {"zerocopy_sends", "/zerocopy/sends"},
        {"zerocopy_completions", "/zerocopy/completions"},
        {"zerocopy_completions_copied", "/zerocopy/completions_copied"},
        {"zerocopy_enobufs", "/zerocopy/enobufs"},
        {"cpu_seconds_per_gib", "/counters/derived/thread/cpu_seconds_per_gib"},
        {"context_switches_per_s", "/counters/derived/thread/context_switches_per_second"},
        {"cycles_per_byte", "/counters/derived/thread/cycles_per_byte"},
        {"instructions_per_byte", "/counters/derived/thread/instructions_per_byte"},
        {"cache_misses_per_kib", "/counters/derived/thread/cache_misses_per_kib"},
        {"system_cpu_seconds_per_gib", "/counters/derived/system/cpu_seconds_per_gib"},
        // sendfile and io_uring
        {"spliced_bytes", "/ledger/spliced_bytes"},
        {"registered_bytes", "/ledger/registered_bytes"},
        {"sendfile_ranges_released", "/sendfile/ranges_released"},
        {"io_uring_requests", "/io_uring/requests"},
        {"io_uring_cqes", "/io_uring/cqes"},
        {"io_uring_notifications", "/io_uring/notifications"},
        {"io_uring_notifications_copied", "/io_uring/notifications_copied"},
        {"io_uring_notification_wait_seconds", "/io_uring/notification_wait_seconds"},
        {"io_uring_send_wait_seconds", "/io_uring/send_wait_seconds"},
        {"bpf_ns_per_byte", "/tracer_cost/ns_per_byte"},
        {"bpf_cpu_percent", "/tracer_cost/cpu_percent"},
        {"bpf_cpu_basis", "/tracer_cost/cpu_basis"},
        // The udp and zerocopy-receive paths.
        {"protocol", "/protocol"},
        {"udp_gso_bytes", "/udp_gso"},
        {"udp_cork", "/udp_cork"},
        {"tx_checksum", "/tx_checksum"},
        {"udp_fallback_cause", "/ledger/udp_zerocopy_send/cause"},
        {"receive", "/receive"},
        {"udp_datagrams_sent", "/udp/datagrams_sent"},
        {"udp_datagrams_dropped", "/udp/datagrams_dropped"},
        {"udp_bytes_dropped", "/udp/bytes_dropped"},
        {"udp_lost_percent", "/udp/lost_percent"},
        {"receive_mapped_bytes", "/receive_zerocopy/mapped_bytes"},
        {"receive_copied_bytes", "/receive_zerocopy/copied_bytes"},
        {"receive_mapped_bytes_kernel", "/ledger/receive_mapped_bytes"},
    };
    return columns;
}

namespace {

std::string quote(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

bool is_unsupported(const nlohmann::json& v) {
    return v.is_object() && v.contains("unsupported");
}

} // namespace

std::string csv_value(const nlohmann::json& cell, const std::string& pointer) {
    nlohmann::json::json_pointer ptr(pointer);
    if (!cell.contains(ptr)) {
        // Inside a section that is unsupported as a whole, every figure is.
        for (auto parent = ptr.parent_pointer(); !parent.empty(); parent = parent.parent_pointer())
            if (cell.contains(parent) && is_unsupported(cell.at(parent))) return "unsupported";
        return "";
    }
    const nlohmann::json& v = cell.at(ptr);
    if (v.is_null()) return "";
    if (is_unsupported(v)) return "unsupported";
    if (v.is_string()) return quote(v.get<std::string>());
    if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
    if (v.is_number()) return v.dump();
    return quote(v.dump());
}

std::string cells_to_csv(const nlohmann::json& cells) {
    std::ostringstream out;
    const auto& cols = csv_columns();
    for (size_t i = 0; i < cols.size(); ++i)
        out << (i ? "," : "") << cols[i].name;
    out << '\n';
    for (const nlohmann::json& cell : cells) {
        for (size_t i = 0; i < cols.size(); ++i)
            out << (i ? "," : "") << csv_value(cell, cols[i].pointer);
        out << '\n';
    }
    return out.str();
}

} // namespace copyscope
