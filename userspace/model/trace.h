#pragma once
// The copy ledger of a traced program (`copyscope trace`) as values: per connection the same
// byte figures as a cell's ledger (ByteFigures, each with its evidence or why it is
// unsupported), what the connection sent, how, where its zerocopy pages were copied later,
// the completions the program read, and a verdict in words; per process and for the whole
// scope the totals. ledger/connection.h computes them; report/trace_report.h writes them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/kernel_counts.h"
#include "model/ledger.h"
#include "model/measured.h"

namespace copyscope {

enum class TraceProtocol { tcp, udp };
inline std::string_view to_string(TraceProtocol p) {
    return p == TraceProtocol::tcp ? "tcp" : "udp";
}
inline std::optional<TraceProtocol> trace_protocol_from_string(std::string_view text) {
    for (TraceProtocol p : {TraceProtocol::tcp, TraceProtocol::udp})
        if (to_string(p) == text) return p;
    return std::nullopt;
}

// One end of a connection: "198.18.0.1", "fd00::1"; port in host order.
struct Endpoint {
    std::string address;
    uint16_t port = 0;

    bool operator==(const Endpoint&) const = default;
};

// The zerocopy pages of a connection copied after the send, in one network namespace.
struct DeferredAt {
    uint64_t netns = 0; // inode
    bool own = false;   // the sending socket's own namespace
    uint64_t bytes = 0; // copied there
    std::string role;   // "own", "peer" (a traced socket of this scope lives there), "other"

    bool operator==(const DeferredAt&) const = default;
};

// MSG_ZEROCOPY completions: as the traced program read them from its error queue, or as the
// kernel completed them (fentry), with the source in words.
struct TraceCompletions {
    Measured<uint64_t> sends;         // sends covered by completion ranges
    Measured<uint64_t> copied;        // of those, flagged SO_EE_CODE_ZEROCOPY_COPIED
    Measured<uint64_t> notifications; // error-queue messages (ranges) read
    std::string source;

    bool operator==(const TraceCompletions&) const = default;
};

// The ledger of one connection, or a sum of them (a process's, the scope's).
struct TraceFigures {
    Measured<uint64_t> bytes_sent; // accepted by send calls
    ByteFigures figures;           // the copy split, as in a cell's ledger
    // Re-copies at delivery of retransmitted zerocopy segments (kept with the retransmits).
    Measured<uint64_t> deferred_copy_retransmit_bytes;
    Measured<uint64_t> sent_by_reference_bytes;       // sendfile/splice: MSG_SPLICE_PAGES pages
    Measured<uint64_t> unclassified_send_bytes;       // sent, path not seen (UDP, TCP Fast Open)
    Measured<uint64_t> zerocopy_receive_mapped_bytes; // TCP_ZEROCOPY_RECEIVE
    TraceCompletions completions;
    std::vector<DeferredAt> deferred_by_namespace;
    // (send copies + zerocopy fallbacks + deferred copies) per byte sent: what sending cost
    // in copies; receive copies are of the bytes this end received, kept apart.
    Measured<double> send_copies_per_byte;
    KernelCounts raw; // the kernel's counts behind the figures, every namespace together

    bool operator==(const TraceFigures&) const = default;
};

struct ConnectionLedger {
    TraceProtocol protocol = TraceProtocol::tcp;
    Endpoint local, remote; // remote: 0.0.0.0:0 for an unconnected UDP socket
    uint64_t netns = 0;     // the socket's own namespace
    std::string cgroup;     // the socket's cgroup v2, relative to the hierarchy's root
    bool closed = false;    // TCP reached TCP_CLOSE while traced
    TraceFigures ledger;
    std::string verdict;

    bool operator==(const ConnectionLedger&) const = default;
};

struct ProcessLedger {
    uint32_t pid = 0; // 0: never seen in process context (its sockets only in softirq)
    std::string comm;
    std::vector<ConnectionLedger> connections;
    TraceFigures totals;

    bool operator==(const ProcessLedger&) const = default;
};

// Counts of in-scope sockets that found the per-socket table full.
struct Untracked {
    uint64_t table_full_events = 0;
    uint64_t table_capacity = 0;
    uint64_t sockets_seen = 0;
    uint64_t errqueue_messages_skipped = 0; // recvmmsg messages beyond those parsed per call
    KernelCounts counts;

    bool operator==(const Untracked&) const = default;
};

} // namespace copyscope
