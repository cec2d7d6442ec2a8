#include "trace/trace_metrics.h"

#include <map>
#include <tuple>

namespace copyscope {
namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;
// process, cgroup, protocol
using Who = std::tuple<std::string, std::string, std::string>;

Labels labels_of(const Who& w, Labels more = {}) {
    Labels l = {
        {"process", std::get<0>(w)}, {"cgroup", std::get<1>(w)}, {"protocol", std::get<2>(w)}};
    l.insert(l.end(), more.begin(), more.end());
    return l;
}

// Sums per label set, over the connections where the figure is measured.
class Family {
  public:
    Family(std::string name, std::string help, MetricType type = MetricType::counter)
        : f_{std::move(name), std::move(help), type, {}} {}
    void add(const Labels& labels, uint64_t value) { sums_[labels] += value; }
    void add(const Labels& labels, const Measured<uint64_t>& m) {
        if (m) sums_[labels] += *m;
    }
    MetricFamily done() {
        for (auto& [labels, value] : sums_)
            f_.samples.push_back({labels, value});
        return std::move(f_);
    }

  private:
    MetricFamily f_;
    std::map<Labels, uint64_t> sums_;
};

void connection_series(const Who& who, const ConnectionLedger& c, Family& sent, Family& deferred,
                       Family& received, Family& retrans, Family& completions, Family& conns) {
    const TraceFigures& t = c.ledger;
    const ByteFigures& f = t.figures;
    sent.add(labels_of(who, {{"path", "copy"}}), f.kernel_send_copy_bytes);
    sent.add(labels_of(who, {{"path", "pinned"}}), f.zerocopy_pinned_bytes);
    sent.add(labels_of(who, {{"path", "spliced"}}), t.sent_by_reference_bytes);
    sent.add(labels_of(who, {{"path", "fallback"}}), f.zerocopy_fallback_bytes);
    sent.add(labels_of(who, {{"path", "unclassified"}}), t.unclassified_send_bytes);
    if (f.deferred_copy_bytes)
        for (const DeferredAt& d : t.deferred_by_namespace)
            deferred.add(labels_of(who, {{"site", "skb_copy_ubufs"},
                                         {"namespace", std::to_string(d.netns)}}),
                         d.bytes);
    received.add(labels_of(who), f.receive_copy_bytes);
    retrans.add(labels_of(who), f.retransmit_bytes);
    const TraceCompletions& z = t.completions;
    if (z.sends && z.copied) {
        completions.add(labels_of(who, {{"api", "msg_zerocopy"}, {"copied", "true"}}), *z.copied);
        completions.add(labels_of(who, {{"api", "msg_zerocopy"}, {"copied", "false"}}),
                        *z.sends - std::min(*z.sends, *z.copied));
    }
    conns.add(labels_of(who, {{"state", c.closed ? "closed" : "open"}}), 1);
}

MetricFamily info_family(const std::vector<HookUse>& hooks) {
    MetricFamily f{"copyscope_hook_info",
                   "How each tracer hook counts on this kernel (1 per hook): its mechanism, and "
                   "whether its figures are exact, inferred or unsupported",
                   MetricType::gauge,
                   {}};
    for (const HookUse& h : hooks)
        f.samples.push_back(
            {{{"hook", h.hook},
              {"mechanism", h.form ? std::string(to_string(h.form->mechanism)) : "none"},
              {"evidence", h.form ? std::string(to_string(h.form.evidence())) : "unsupported"}},
             uint64_t{1}});
    return f;
}

} // namespace

std::vector<MetricFamily> trace_metrics(const TraceMetricsInput& in) {
    Family sent("copyscope_sent_bytes_total",
                "Bytes accepted by send calls, by how they left (copy, pinned, spliced, "
                "fallback, unclassified)");
    Family deferred("copyscope_deferred_copy_bytes_total",
                    "Pinned (zerocopy) bytes copied after the send, by site and network namespace");
    Family received("copyscope_receive_copy_bytes_total", "Bytes copied to the reader on receive");
    Family retrans("copyscope_retransmitted_bytes_total", "Bytes TCP sent again");
    Family completions("copyscope_zerocopy_completions_total",
                       "MSG_ZEROCOPY sends completed, by the kernel's copied flag");
    Family conns("copyscope_connections", "Connections seen, by state", MetricType::gauge);
    for (const ProcessLedger& p : in.ledger->processes)
        for (const ConnectionLedger& c : p.connections) {
            const Who who{p.comm, c.cgroup, std::string(to_string(c.protocol))};
            connection_series(who, c, sent, deferred, received, retrans, completions, conns);
        }
    Family untracked("copyscope_untracked_bytes_total",
                     "Bytes of in-scope sockets that found the per-socket table full");
    const KernelCounts& o = in.untracked.counts;
    untracked.add({{"reason", "table_full"}, {"kind", "sent"}}, o.send_bytes);
    untracked.add({{"reason", "table_full"}, {"kind", "copied"}},
                  o.send_copy_bytes + o.zc_fallback_bytes + o.deferred_bytes);
    untracked.add({{"reason", "table_full"}, {"kind", "received"}}, o.recv_bytes);
    MetricFamily missed{"copyscope_bpf_missed_events_total",
                        "BPF program runs the kernel skipped (recursion protection)",
                        MetricType::counter,
                        {{{}, in.missed_events}}};
    MetricFamily info{
        "copyscope_trace_info",
        "The trace: copyscope's version, the kernel, what is traced (always 1)",
        MetricType::gauge,
        {{{{"version", in.version}, {"kernel", in.kernel}, {"scope", in.scope}}, uint64_t{1}}}};
    return {
        sent.done(),  deferred.done(),  received.done(), retrans.done(),         completions.done(),
        conns.done(), untracked.done(), missed,          info_family(*in.hooks), info};
}

} // namespace copyscope
