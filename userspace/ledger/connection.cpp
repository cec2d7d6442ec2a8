#include "ledger/connection.h"

#include <algorithm>
#include <map>

#include "common/format.h"
#include "ledger/copy_model.h"
#include "ledger/figures.h"
#include "ledger/tally.h"

namespace copyscope {
namespace {

using U64 = Measured<uint64_t>;

U64 by(const HookSource& hook, uint64_t value) {
    return hook.with(value);
}

struct Sources {
    HookSource send, pinned_pages, deferred, receive, retransmits, completions, udp, uring, mapped;

    explicit Sources(const std::vector<HookUse>& hooks)
        : send(hook_source(hooks, hook_send)), pinned_pages(hook_source(hooks, hook_pinned_pages)),
          deferred(hook_source(hooks, hook_deferred)), receive(hook_source(hooks, hook_receive)),
          retransmits(hook_source(hooks, hook_retransmits)),
          completions(hook_source(hooks, hook_completions)), udp(hook_source(hooks, hook_udp)),
          uring(hook_source(hooks, hook_io_uring_notifications)),
          mapped(hook_source(hooks, hook_receive_mapped)) {}
};

// How each protocol's bytes leave: TCP's split by the send hook, UDP's only counted.
void sends(TraceFigures& f, const Sources& s, const SocketCounts& c, const TraceKernel& kernel) {
    const KernelCounts& k = c.own;
    if (c.protocol == TraceProtocol::udp) {
        const Unsupported split{"UDP: bytes sent are counted (sock_send_length), not split by "
                                "how they left"};
        f.bytes_sent = by(s.udp, k.send_bytes);
        f.figures.kernel_send_copy_bytes = split;
        f.figures.zerocopy_pinned_bytes = split;
        f.figures.zerocopy_fallback_bytes = split;
        f.sent_by_reference_bytes = split;
        f.unclassified_send_bytes = by(s.udp, k.send_unclassified_bytes);
        f.figures.receive_copy_bytes = by(s.udp, k.recv_bytes);
        f.figures.retransmit_bytes = U64(0, Evidence::exact, "UDP does not retransmit");
        return;
    }
    f.bytes_sent = by(s.send, k.send_bytes);
    f.figures.kernel_send_copy_bytes = by(s.send, k.send_copy_bytes);
    f.figures.zerocopy_pinned_bytes = by_decision_rule(s.send, k.zc_pinned_bytes);
    f.figures.zerocopy_fallback_bytes = by_decision_rule(s.send, k.zc_fallback_bytes);
    f.figures.registered_bytes = by(s.send, k.reg_zc_bytes); // io_uring registered buffers
    f.sent_by_reference_bytes =
        kernel.splice_pages_at_send
            ? by(s.send, k.splice_bytes)
            : U64(Unsupported{"before 6.5 sendfile and splice send through do_tcp_sendpages, "
                              "which the send hook does not see"});
    f.unclassified_send_bytes = by(s.send, k.send_unclassified_bytes);
    f.figures.receive_copy_bytes = by(s.receive, k.recv_bytes);
    f.figures.retransmit_bytes = by(s.retransmits, k.retrans_bytes);
}

// Where the socket's zerocopy pages were copied later, per namespace, read per the deferred
// hook's form. A retransmitted zerocopy segment already delivered is copied again: as in a
// cell's ledger, the bytes copied beyond those pinned (up to the bytes retransmitted) are
// kept with the retransmits.
void deferred(TraceFigures& f, const Sources& s, const SocketCounts& c) {
    if (!s.deferred) {
        f.figures.deferred_copy_bytes = Unsupported{s.deferred.reason()};
        f.deferred_copy_retransmit_bytes = Unsupported{s.deferred.reason()};
        return;
    }
    const auto add = [&](uint64_t netns, bool own, const KernelCounts& k) {
        const uint64_t bytes = deferred_bytes(k, *s.deferred);
        if (bytes > 0) f.deferred_by_namespace.push_back({netns, own, bytes, own ? "own" : ""});
        return bytes;
    };
    uint64_t total = add(c.netns, true, c.own);
    for (const auto& [netns, k] : c.elsewhere)
        total += add(netns, false, k);
    const uint64_t pinned = c.own.zc_pinned_bytes;
    uint64_t recopied = 0;
    if (s.retransmits && pinned > 0 && total > pinned)
        recopied = std::min<uint64_t>(total - pinned, c.own.retrans_bytes);
    f.figures.deferred_copy_bytes = by(s.deferred, total - recopied);
    f.deferred_copy_retransmit_bytes =
        s.retransmits ? by(s.deferred, recopied) : U64(Unsupported{s.retransmits.reason()});
}

void completions(TraceFigures& f, const Sources& s, const SocketCounts& c) {
    TraceCompletions& t = f.completions;
    const KernelCounts& k = c.own;
    if (!s.completions) {
        t.sends = t.copied = t.notifications = Unsupported{s.completions.reason()};
        return;
    }
    if (*s.completions == HookMechanism::tp_btf) {
        t.sends = by(s.completions, k.zc_read_sends);
        t.copied = by(s.completions, k.zc_read_copied);
        t.notifications = by(s.completions, k.zc_read_notifications);
        t.source = "the program's own MSG_ERRQUEUE reads";
        // io_uring SEND_ZC: one notification CQE per request, posted to the program's ring
        // (io_uring_complete), never read from the error queue.
        if (s.uring && k.uring_notifs > 0) {
            t.sends = by(s.completions, k.zc_read_sends + k.uring_notifs);
            t.copied = by(s.completions, k.zc_read_copied + k.uring_notifs_copied);
            t.notifications = by(s.completions, k.zc_read_notifications + k.uring_notifs);
            t.source += " and io_uring SEND_ZC notifications posted to its ring";
        }
        return;
    }
    if (c.protocol == TraceProtocol::udp) {
        t.sends = t.copied = t.notifications =
            Unsupported{"the kernel's completion hook counts TCP sockets only"};
        return;
    }
    t.sends = by(s.completions, k.zc_completed_sends);
    t.copied = by(s.completions, k.zc_completed_copied);
    t.notifications = Unsupported{"the kernel's completions are counted per ubuf_info, not per "
                                  "notification the program read"};
    t.source = "the kernel's completions (" + std::string(to_string(*s.completions)) + ")";
}

// (send copies + fallbacks + deferred copies) / bytes sent.
void send_copies_per_byte(TraceFigures& f) {
    const ByteFigures& b = f.figures;
    for (const U64* m :
         std::initializer_list<const U64*>{&f.bytes_sent, &b.kernel_send_copy_bytes,
                                           &b.zerocopy_fallback_bytes, &b.deferred_copy_bytes})
        if (!*m) {
            f.send_copies_per_byte = Unsupported{m->reason()};
            return;
        }
    if (*f.bytes_sent == 0) {
        f.send_copies_per_byte = Unsupported{"no bytes were sent"};
        return;
    }
    const double copies =
        double(*b.kernel_send_copy_bytes + *b.zerocopy_fallback_bytes + *b.deferred_copy_bytes);
    const Evidence e =
        weaker(b.kernel_send_copy_bytes.evidence(), b.deferred_copy_bytes.evidence());
    f.send_copies_per_byte = Measured<double>(copies / double(*f.bytes_sent), e);
}

// ---- sums -------------------------------------------------------------------------------

U64 sum_of(const std::vector<const U64*>& parts) {
    uint64_t total = 0;
    size_t missing = 0;
    std::string why;
    Evidence e = Evidence::exact;
    std::string source;
    for (const U64* m : parts) {
        if (!*m) {
            if (missing++ == 0) why = m->reason();
            continue;
        }
        total += **m;
        e = weaker(e, m->evidence());
        if (source.empty()) source = m->source();
    }
    if (missing == parts.size() && !parts.empty()) return Unsupported{why};
    if (missing > 0)
        return Unsupported{"unsupported for " + std::to_string(missing) + " of " +
                           std::to_string(parts.size()) + " connections: " + why};
    return U64(total, e, source);
}

template <class Get> U64 sum_field(const std::vector<const TraceFigures*>& parts, Get get) {
    std::vector<const U64*> ms;
    for (const TraceFigures* p : parts)
        ms.push_back(&get(*p));
    return sum_of(ms);
}

std::string deferred_words(const TraceFigures& f) {
    std::string out;
    for (const DeferredAt& d : f.deferred_by_namespace) {
        if (!out.empty()) out += ", ";
        out += human_bytes(d.bytes) + " in ";
        out += d.own ? "its own namespace" : "namespace " + std::to_string(d.netns);
        if (d.role == "peer") out += " (the receiver's, at local delivery)";
    }
    return out;
}

std::string share(uint64_t part, uint64_t whole) {
    return whole ? format_percent(100.0 * double(part) / double(whole)) : "0%";
}

// How the bytes left, as the largest share first.
std::string how_sent(const TraceFigures& f) {
    const uint64_t sent = *f.bytes_sent;
    const ByteFigures& b = f.figures;
    const uint64_t copy = b.kernel_send_copy_bytes.value_or(0);
    const uint64_t ref = f.sent_by_reference_bytes.value_or(0);
    const uint64_t pinned = b.zerocopy_pinned_bytes.value_or(0);
    const uint64_t fallback = b.zerocopy_fallback_bytes.value_or(0);
    const uint64_t other = f.unclassified_send_bytes.value_or(0);
    std::vector<std::pair<uint64_t, std::string>> parts;
    if (ref)
        parts.push_back({ref, human_bytes(ref) + " sent by reference (sendfile/splice), no copy "
                                                 "at send"});
    if (pinned) {
        std::string p = human_bytes(pinned) + " pinned (MSG_ZEROCOPY), no copy at send";
        if (b.deferred_copy_bytes) {
            const uint64_t d = *b.deferred_copy_bytes;
            p += d == 0 ? "; none copied later"
                        : "; " + share(std::min(d, pinned), pinned) +
                              " of them copied later: " + deferred_words(f);
            if (b.deferred_copy_bytes.evidence() == Evidence::inferred) p += " (inferred)";
        }
        parts.push_back({pinned, p});
    }
    if (copy) parts.push_back({copy, human_bytes(copy) + " copied at send"});
    if (fallback)
        parts.push_back({fallback, human_bytes(fallback) +
                                       " asked MSG_ZEROCOPY but copied at send (fallback)"});
    if (other) parts.push_back({other, human_bytes(other) + " sent by a path not classified"});
    std::stable_sort(parts.begin(), parts.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    std::string lead;
    if (!parts.empty() && parts.front().first * 100 >= sent * 99) {
        lead = ref == parts.front().first      ? "sendfile/splice: "
               : pinned == parts.front().first ? "MSG_ZEROCOPY: "
               : copy == parts.front().first   ? "copied at send: "
                                               : "";
    }
    std::string out = lead + "sent " + human_bytes(sent);
    for (size_t i = 0; i < parts.size(); ++i)
        out += (i == 0 ? ": " : "; ") + parts[i].second;
    return out;
}

} // namespace

TraceFigures connection_figures(const std::vector<HookUse>& hooks, const SocketCounts& counts,
                                const TraceKernel& kernel) {
    const Sources s(hooks);
    TraceFigures f;
    f.raw = counts.own;
    for (const auto& [netns, k] : counts.elsewhere)
        f.raw += k;
    sends(f, s, counts, kernel);
    f.figures.pinned_pages = pinned_pages_figure(s.pinned_pages, counts.own);
    deferred(f, s, counts);
    completions(f, s, counts);
    // Counted by the cgroup getsockopt program once the socket is in the table; without it
    // (no cgroup to attach to) the hook's reason says why.
    f.zerocopy_receive_mapped_bytes = counts.protocol == TraceProtocol::udp
                                          ? U64(Unsupported{"TCP_ZEROCOPY_RECEIVE is TCP only"})
                                          : by(s.mapped, counts.own.zcrx_mapped_bytes);
    // The ledger's other figures (copy sites, delivery, pinned pages by address) are counted
    // per lab namespace by `run`, not per socket.
    for (const ByteFigureDef& d : byte_figures)
        if (!(f.figures.*d.field) && (f.figures.*d.field).reason() == "not measured")
            f.figures.*d.field = Unsupported{"not traced per connection by this version"};
    send_copies_per_byte(f);
    return f;
}

TraceFigures sum_figures(const std::vector<const TraceFigures*>& parts) {
    TraceFigures t;
    if (parts.empty()) return t;
    t.bytes_sent =
        sum_field(parts, [](const TraceFigures& f) -> const U64& { return f.bytes_sent; });
    for (const ByteFigureDef& d : byte_figures)
        t.figures.*d.field = sum_field(
            parts, [&](const TraceFigures& f) -> const U64& { return f.figures.*d.field; });
    t.deferred_copy_retransmit_bytes = sum_field(parts, [](const TraceFigures& f) -> const U64& {
        return f.deferred_copy_retransmit_bytes;
    });
    t.sent_by_reference_bytes = sum_field(
        parts, [](const TraceFigures& f) -> const U64& { return f.sent_by_reference_bytes; });
    t.unclassified_send_bytes = sum_field(
        parts, [](const TraceFigures& f) -> const U64& { return f.unclassified_send_bytes; });
    t.zerocopy_receive_mapped_bytes = sum_field(
        parts, [](const TraceFigures& f) -> const U64& { return f.zerocopy_receive_mapped_bytes; });
    t.completions.sends =
        sum_field(parts, [](const TraceFigures& f) -> const U64& { return f.completions.sends; });
    t.completions.copied =
        sum_field(parts, [](const TraceFigures& f) -> const U64& { return f.completions.copied; });
    t.completions.notifications = sum_field(
        parts, [](const TraceFigures& f) -> const U64& { return f.completions.notifications; });
    t.completions.source = parts.front()->completions.source;
    std::map<uint64_t, DeferredAt> at;
    for (const TraceFigures* p : parts) {
        t.raw += p->raw;
        for (const DeferredAt& d : p->deferred_by_namespace) {
            DeferredAt& m = at[d.netns];
            m.netns = d.netns;
            m.bytes += d.bytes;
            if (m.role.empty() || d.role == "peer") m.role = d.role;
            m.own = false; // a sum spans sockets of different namespaces
        }
    }
    for (auto& [netns, d] : at)
        t.deferred_by_namespace.push_back(d);
    send_copies_per_byte(t);
    return t;
}

std::string connection_verdict(const ConnectionLedger& c, const ConnectionLedger* peer,
                               const std::string& peer_process) {
    const TraceFigures& f = c.ledger;
    std::vector<std::string> parts;
    if (!f.bytes_sent)
        parts.push_back("bytes sent unknown: " + f.bytes_sent.reason());
    else if (*f.bytes_sent > 0)
        parts.push_back(how_sent(f));
    const U64& recv = f.figures.receive_copy_bytes;
    if (!recv)
        parts.push_back("receive copies unknown: " + recv.reason());
    else if (*recv > 0)
        parts.push_back("received " + human_bytes(*recv) + ", copied once to the reader");
    if (peer && f.bytes_sent && *f.bytes_sent > 0 && peer->ledger.figures.receive_copy_bytes) {
        const uint64_t r = *peer->ledger.figures.receive_copy_bytes;
        parts.push_back("the peer (" + peer_process + ", namespace " + std::to_string(peer->netns) +
                        ") copied " + human_bytes(r) + " of them on receive");
    }
    const TraceCompletions& z = f.completions;
    if (z.sends && *z.sends > 0)
        parts.push_back(std::to_string(z.copied.value_or(0)) + " of " + std::to_string(*z.sends) +
                        " zerocopy sends completed COPIED (" + z.source + ")");
    const U64& rt = f.figures.retransmit_bytes;
    if (rt && *rt > 0) parts.push_back(human_bytes(*rt) + " retransmitted");
    if (parts.empty()) return "no bytes sent or received";
    std::string out;
    for (const std::string& p : parts)
        out += (out.empty() ? "" : "; ") + p;
    return out;
}

std::string human_bytes(uint64_t bytes) {
    if (bytes < 1000) return std::to_string(bytes) + " B";
    const char* units[] = {"kB", "MB", "GB", "TB", "PB"};
    double v = double(bytes);
    int u = -1;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        ++u;
    }
    return significant(v, v >= 100 ? 4 : 3) + " " + units[u];
}

} // namespace copyscope
