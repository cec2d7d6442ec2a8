#pragma once
// The Prometheus text exposition format, version 0.0.4: a small typed model and its
// rendering. Names are checked against the rules `promtool check metrics` lints (base
// units, _total exactly on counters, snake_case, no type or unit abbreviation in the name),
// so whatever renders is accepted without a warning; a name that breaks them is a
// programming error (std::invalid_argument), not something to serve.
//
// Names proposed for the copy ledger of `copyscope trace` (not served yet). Every family is
// a counter of bytes in base units unless said otherwise; the common labels are
// process (comm), cgroup (path relative to the cgroup v2 root, "/" for the root) and
// protocol (tcp|udp). Pids and 4-tuples stay out of the default labels (unbounded series);
// ratios such as copies per byte are left to PromQL. A figure this kernel cannot give is
// not exported (never 0); copyscope_hook_info says why.
//
//   copyscope_sent_bytes_total{process,cgroup,protocol,path}
//       bytes accepted by send calls, by how they left; the paths partition them, so
//       sum without(path) is the bytes sent: path = copy | pinned (MSG_ZEROCOPY, io_uring
//       SEND_ZC) | spliced (sendfile/splice: sent by reference) | fallback (zerocopy asked,
//       copied anyway) | unclassified. Pinned and spliced bytes are these paths, not
//       families of their own, so that no sum counts a byte twice.
//   copyscope_send_copy_bytes_total{process,cgroup,protocol}
//       copied at send time, measured at the copy itself (comparable with path=copy +
//       path=fallback above)
//   copyscope_deferred_copy_bytes_total{process,cgroup,protocol,site,namespace}
//       pinned bytes copied later (site: the kernel function, e.g. skb_copy_ubufs;
//       namespace: inode of the network namespace where it happened)
//   copyscope_receive_copy_bytes_total{process,cgroup,protocol}   copied to the reader
//   copyscope_received_mapped_bytes_total{process,cgroup,protocol} TCP_ZEROCOPY_RECEIVE
//   copyscope_retransmitted_bytes_total{process,cgroup,protocol}
//   copyscope_zerocopy_completions_total{process,cgroup,protocol,api,copied}
//       sends completed as the application read them; api = msg_zerocopy | io_uring,
//       copied = true | false (the kernel's SO_EE_CODE_ZEROCOPY_COPIED flag)
//   copyscope_untracked_bytes_total{reason,kind}
//       reason = table_full | closed, kind = sent | copied | received
//   copyscope_connections{process,cgroup,protocol,state}     gauge, state = open | closed
//   copyscope_bpf_missed_events_total                        counter, no unit
//   copyscope_hook_info{hook,mechanism,evidence}             gauge = 1 (evidence = exact |
//                                                            inferred | unsupported)
//   copyscope_trace_info{version,kernel,scope}               gauge = 1
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace copyscope {

enum class MetricType { counter, gauge };

struct MetricSample {
    std::vector<std::pair<std::string, std::string>> labels; // name, value (any UTF-8)
    std::variant<uint64_t, double> value;                    // integers render exactly
};

struct MetricFamily {
    std::string name; // counters end in _total
    std::string help; // required, one line or more (newlines are escaped)
    MetricType type = MetricType::counter;
    std::vector<MetricSample> samples;
};

// Throws std::invalid_argument naming the family and the rule it breaks.
void validate(const MetricFamily& family);

// HELP, TYPE and the samples of each family, in the given order; ends with a newline.
// Validates every family and rejects a name used twice or a label set repeated within a
// family.
std::string render_exposition(const std::vector<MetricFamily>& families);

// Label value escaping of the format: backslash, double quote and newline.
std::string escape_label_value(const std::string& value);

// The Content-Type of this format.
inline constexpr const char* kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

} // namespace copyscope
