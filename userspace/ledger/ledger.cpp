#include "ledger/ledger.h"

#include <algorithm>
#include <cmath>

#include "common/format.h"

namespace copyscope {
namespace {

using nlohmann::json;

const HookUse* find_hook(const std::optional<TracerView>& tv, const char* name) {
    if (!tv) return nullptr;
    for (const auto& h : tv->hooks)
        if (h.hook == name) return &h;
    return nullptr;
}

// Why a hook's fields cannot be given: empty when they can.
std::string why_unsupported(const LedgerInput& in, const HookUse* h, const char* name) {
    if (!in.tracer)
        return in.tracer_unavailable.empty() ? "tracer not running" : in.tracer_unavailable;
    if (!h) return std::string("hook ") + name + " not planned";
    return h->unsupported;
}

json raw_counts(const KernelCounts& k) {
    json j = json::object();
    for (const KernelCounterDef& c : kernel_counters())
        j[std::string(c.name)] = k.*c.field;
    return j;
}

json unsupported(const std::string& reason) {
    return json{{"unsupported", reason}};
}

bool within(double value, double expected, double tolerance) {
    if (expected == 0) return value == 0;
    return std::fabs(value - expected) <= tolerance * std::fabs(expected);
}

// What one namespace (or, for nic, one set of sockets) plays in the cell.
enum class Part {
    sender,     // sends the messages, receives the answers
    router,     // forwards; no socket of ours
    receiver,   // receives the messages, sends the answers
    shared,     // loopback: both ends in one namespace
    local_sink, // nic: a sink's sockets found in the sender's own namespace
};

// One side's counts, with its socket copies split by direction: requests are the
// application's messages, answers are what the receiver sent back (rr answers, a sink's
// tally). Answers are plain send()s: copied at send time, never pinned.
struct Side {
    const char* name;
    Part part;
    uint64_t inode;
    const KernelCounts* k;
    uint64_t req_send_copy = 0, ans_send_copy = 0;
    uint64_t req_recv = 0, ans_recv = 0;
    Side(const char* n, Part p, uint64_t i, const KernelCounts* c)
        : name(n), part(p), inode(i), k(c) {}
    bool sends_requests() const { return part == Part::sender || part == Part::shared; }
};

// Splits a side's copies: a namespace that holds one end sees one direction each way; a
// shared one holds both, so the answers (the runner's count) are taken off its totals.
void split_directions(Side& s, uint64_t answers) {
    const KernelCounts& k = *s.k;
    switch (s.part) {
    case Part::sender:
        s.req_send_copy = k.send_copy_bytes;
        s.ans_recv = k.recv_bytes;
        break;
    case Part::receiver:
    case Part::local_sink:
        s.ans_send_copy = k.send_copy_bytes + k.zc_pinned_bytes + k.zc_fallback_bytes;
        s.req_recv = k.recv_bytes;
        break;
    case Part::shared:
        s.ans_send_copy = std::min(k.send_copy_bytes, answers);
        s.req_send_copy = k.send_copy_bytes - s.ans_send_copy;
        s.ans_recv = std::min(k.recv_bytes, answers);
        s.req_recv = k.recv_bytes - s.ans_recv;
        break;
    case Part::router:
        // Sockets in the router would be neither end's: keep them visible as requests,
        // where the exact checks will catch them.
        s.req_send_copy = k.send_copy_bytes;
        s.req_recv = k.recv_bytes;
        break;
    }
}

// Where a deferred copy in this side happened, for the verdict.
std::string where_deferred(const Side& s, Transport t) {
    switch (s.part) {
    case Part::sender:
        if (t == Transport::nic)
            return "on this host, in copyscope's own namespace (a local route, a packet tap or "
                   "a device without scatter-gather)";
        return "in the sender's namespace";
    case Part::router:
        return "in the router's namespace (at the first receive, before forwarding)";
    case Part::receiver:
        return "at local delivery in the receiver's namespace";
    case Part::shared:
        return "at local delivery in the lab's one namespace";
    case Part::local_sink:
        return "at local delivery in copyscope's own namespace (the sink runs in this kernel)";
    }
    return "?";
}

} // namespace

uint64_t deferred_bytes(const KernelCounts& k, const std::string& mechanism) {
    if (mechanism == "inferred")
        return k.rx_zc_bytes > k.fwd_zc_bytes ? k.rx_zc_bytes - k.fwd_zc_bytes : 0;
    return k.deferred_bytes;
}

std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc,
                                               bool with_receive) {
    if (app.bytes_sent == 0) return std::nullopt;
    const double user = static_cast<double>(app.user_copy_bytes) / app.bytes_sent;
    const double receive = with_receive ? 1.0 : 0.0;
    if (s != Strategy::zero_copy) return user + 1.0 + receive;
    // Every zerocopy send is copied once more iff its completion says COPIED (at send
    // time as a fallback, or later); sends are the unit of completions, and the runner
    // sends equal-sized messages, so the fraction of sends is the fraction of bytes.
    if (!zc || zc->completions == 0) return std::nullopt;
    const double copied = static_cast<double>(zc->completions_copied) / zc->completions;
    return user + copied + receive;
}

LedgerResult compute_ledger(const LedgerInput& in) {
    LedgerResult out;
    json& L = out.ledger;
    const AppCounts& app = in.app;
    const bool zc_cell = in.strategy == Strategy::zero_copy;

    L["strategy"] = to_string(in.strategy);
    L["transport"] = to_string(in.transport);
    L["app_bytes_sent"] = app.bytes_sent;
    L["app_bytes_received"] = app.bytes_received;
    L["user_copy_bytes"] = app.user_copy_bytes;

    // Tracer and hooks.
    json tracer = {{"available", in.tracer.has_value()}};
    if (!in.tracer) tracer["reason"] = in.tracer_unavailable;
    json hooks = json::object();
    if (in.tracer) {
        tracer["missed_events"] = in.tracer->missed_events;
        for (const auto& h : in.tracer->hooks) {
            if (!h.unsupported.empty()) {
                hooks[h.hook] = unsupported(h.unsupported);
                continue;
            }
            hooks[h.hook] = {{"mechanism", h.mechanism},
                             {"targets", h.targets},
                             {"count", h.exact ? "exact" : "inferred"},
                             {"note", h.note}};
        }
    }
    L["tracer"] = tracer;
    L["hooks"] = hooks;

    const HookUse* h_send = find_hook(in.tracer, hook_send);
    const HookUse* h_pages = find_hook(in.tracer, hook_pinned_pages);
    const HookUse* h_def = find_hook(in.tracer, hook_deferred);
    const HookUse* h_recv = find_hook(in.tracer, hook_receive);
    const HookUse* h_rtx = find_hook(in.tracer, hook_retransmits);
    const HookUse* h_comp = find_hook(in.tracer, hook_completions);
    const std::string no_send = why_unsupported(in, h_send, hook_send);
    const std::string no_pages = why_unsupported(in, h_pages, hook_pinned_pages);
    const std::string no_def = why_unsupported(in, h_def, hook_deferred);
    const std::string no_recv = why_unsupported(in, h_recv, hook_receive);
    const std::string no_rtx = why_unsupported(in, h_rtx, hook_retransmits);
    const std::string def_mech = h_def ? h_def->mechanism : "";

    // Sides of the lab: sender and receiver namespaces (veth), with a router between them
    // (forward), one shared namespace (loopback), or this host's own namespace (nic), whose
    // sockets of a sink listening here, if any, are counted apart.
    const uint64_t answers = app.response_bytes;
    const bool nic = in.transport == Transport::nic;
    // Is the receiver in this kernel? Always, except for nic: there the tracer tells, by
    // receive copies on a sink's sockets here, by more receive copies than answers on ours,
    // or by zerocopy skbs received in this namespace (looped back, never from a real NIC).
    std::optional<bool> receiver_here;
    std::string receiver_evidence;
    if (!nic) {
        receiver_here = true;
    } else if (in.tracer) {
        const TracerView& tv = *in.tracer;
        const uint64_t sink_recv = tv.local_sink ? tv.local_sink->recv_bytes : 0;
        const uint64_t extra_recv =
            tv.sender.recv_bytes > answers ? tv.sender.recv_bytes - answers : 0;
        receiver_here = sink_recv > 0 || extra_recv > 0 || tv.sender.rx_zc_bytes > 0;
        if (*receiver_here)
            receiver_evidence =
                "the peer is in this kernel: " + format_bytes(sink_recv + extra_recv) +
                " of message receive copies and " + format_bytes(tv.sender.rx_zc_bytes) +
                " of zerocopy skbs received in copyscope's own namespace";
        else
            receiver_evidence = "no receive copy beyond the " + format_bytes(answers) +
                                " of answers and no zerocopy skb received in copyscope's own "
                                "namespace: the peer is outside this kernel";
    }
    const bool far = nic && receiver_here == false;
    const std::string far_reason =
        "the receiver is outside this kernel (nic): its copies are not seen here";

    std::vector<Side> sides;
    KernelCounts total;
    if (in.tracer) {
        const TracerView& tv = *in.tracer;
        if (nic) {
            // Without a split of the sink's sockets, a local sink shares our counters.
            const bool shared = receiver_here == true && !tv.local_sink;
            sides.emplace_back("sender", shared ? Part::shared : Part::sender, tv.sender_ns,
                               &tv.sender);
            // A sink's sockets here are a side of their own only when it is here at all.
            if (tv.local_sink && receiver_here == true)
                sides.emplace_back("local_sink", Part::local_sink, tv.sender_ns, &*tv.local_sink);
        } else if (tv.receiver_ns == tv.sender_ns) {
            sides.emplace_back("shared", Part::shared, tv.sender_ns, &tv.sender);
        } else {
            sides.emplace_back("sender", Part::sender, tv.sender_ns, &tv.sender);
            if (tv.router_ns) sides.emplace_back("router", Part::router, tv.router_ns, &tv.router);
            sides.emplace_back("receiver", Part::receiver, tv.receiver_ns, &tv.receiver);
        }
        for (auto& s : sides) {
            split_directions(s, answers);
            total += *s.k;
        }
    }
    // Summed per side: an inferred count is per namespace (received minus forwarded on).
    uint64_t deferred_total = 0;
    for (const auto& s : sides)
        deferred_total += deferred_bytes(*s.k, def_mech);
    uint64_t req_send_copy = 0, ans_send_copy = 0, req_recv = 0, ans_recv = 0;
    uint64_t pinned = 0, fallback = 0;
    for (const auto& s : sides) {
        req_send_copy += s.req_send_copy;
        ans_send_copy += s.ans_send_copy;
        req_recv += s.req_recv;
        ans_recv += s.ans_recv;
        if (s.part != Part::receiver && s.part != Part::local_sink) {
            pinned += s.k->zc_pinned_bytes;
            fallback += s.k->zc_fallback_bytes;
        }
    }
    // A retransmitted zerocopy segment whose first copy was already delivered is copied
    // again at delivery. Those bytes belong with the retransmits (kept apart, DESIGN.md),
    // not with the application's one deferred copy per pinned byte.
    uint64_t deferred_retransmitted = 0;
    if (no_rtx.empty() && pinned > 0 && deferred_total > pinned)
        deferred_retransmitted = std::min<uint64_t>(deferred_total - pinned, total.retrans_bytes);
    deferred_total -= deferred_retransmitted;
    const bool shared_ns = std::any_of(sides.begin(), sides.end(),
                                       [](const Side& s) { return s.part == Part::shared; });
    // The application's messages' receive copies: not seen when the receiver is elsewhere.
    const std::string no_msg_recv = !no_recv.empty() ? no_recv : far ? far_reason : "";

    auto field = [](const std::string& why, uint64_t value) -> json {
        return why.empty() ? json(value) : unsupported(why);
    };
    // Top-level byte figures are about the application's messages (the request direction);
    // answers coming back are under "responses".
    L["kernel_send_copy_bytes"] = field(no_send, req_send_copy);
    L["zerocopy_pinned_bytes"] = field(no_send, pinned);
    L["pinned_pages"] = field(no_pages, total.xmit_zc_pages);
    L["zerocopy_fallback_bytes"] = field(no_send, fallback);
    L["deferred_copy_bytes"] = field(no_def, deferred_total);
    L["receive_copy_bytes"] = field(no_msg_recv, req_recv);
    L["retransmit_bytes"] = field(no_rtx, total.retrans_bytes);
    L["deferred_copy_retransmit_bytes"] = field(no_rtx, deferred_retransmitted);
    L["receiver_in_this_kernel"] = receiver_here ? json(*receiver_here) : json(nullptr);
    if (nic) L["receiver_evidence"] = in.tracer ? json(receiver_evidence) : unsupported(no_recv);

    if (answers > 0) {
        json r = {{"bytes", answers},
                  {"send_copy_bytes", far ? unsupported("sent by the peer outside this kernel")
                                          : field(no_send, ans_send_copy)},
                  {"receive_copy_bytes", field(no_recv, ans_recv)},
                  {"measured", shared_ns ? "subtracted: one namespace carries both directions, "
                                           "so the answers are taken off its totals"
                                         : "apart: each direction's copies in its own "
                                           "namespace or sockets"},
                  {"note", "bytes the receiver sent back (rr answers, a sink's tally); kept "
                           "out of every top-level figure and of copies_per_byte"}};
        L["responses"] = r;
    } else {
        L["responses"] = nullptr;
    }

    // The retransmitted re-copies come off the namespace that copied the most, where
    // delivery (and so the second copy) happened.
    const Side* recopied_in = nullptr;
    for (const auto& s : sides)
        if (!recopied_in ||
            deferred_bytes(*s.k, def_mech) > deferred_bytes(*recopied_in->k, def_mech))
            recopied_in = &s;
    json by_ns = json::object();
    for (const auto& s : sides) {
        const KernelCounts& k = *s.k;
        const uint64_t side_deferred =
            deferred_bytes(k, def_mech) - (&s == recopied_in ? deferred_retransmitted : 0);
        json n = {
            {"inode", s.inode},
            {"kernel_send_copy_bytes", field(no_send, s.req_send_copy)},
            {"zerocopy_pinned_bytes", field(no_send, s.sends_requests() ? k.zc_pinned_bytes : 0)},
            {"pinned_pages", field(no_pages, k.xmit_zc_pages)},
            {"zerocopy_fallback_bytes",
             field(no_send, s.sends_requests() ? k.zc_fallback_bytes : 0)},
            {"deferred_copy_bytes", field(no_def, side_deferred)},
            {"receive_copy_bytes", field(no_recv, s.req_recv)},
            {"retransmit_bytes", field(no_rtx, k.retrans_bytes)},
            {"raw", raw_counts(k)}};
        if (answers > 0) {
            n["response_send_copy_bytes"] = field(no_send, s.ans_send_copy);
            n["response_receive_copy_bytes"] = field(no_recv, s.ans_recv);
        }
        if (s.part == Part::local_sink)
            n["note"] = "sockets bound to the peer's address in copyscope's own namespace (a sink "
                        "running in this kernel); device-level counts stay with \"sender\"";
        by_ns[s.name] = n;
    }
    L["by_namespace"] = by_ns;

    // Zerocopy notifications: the runner's error-queue reads, and the kernel's own count
    // where the completion hook runs.
    if (in.zerocopy) {
        const ZerocopyStats& z = *in.zerocopy;
        json n = {{"sends", z.sends},
                  {"completions", z.completions},
                  {"completions_copied", z.completions_copied},
                  {"notifications", z.notifications},
                  {"enobufs", z.enobufs},
                  {"missing", z.missing},
                  {"source", "runner: MSG_ERRQUEUE reads"}};
        if (h_comp && h_comp->unsupported.empty() && h_comp->mechanism != "userspace")
            n["kernel"] = {{"completed_sends", total.zc_completed_sends},
                           {"completed_copied", total.zc_completed_copied},
                           {"mechanism", h_comp->mechanism}};
        L["zerocopy_notifications"] = n;
    } else {
        L["zerocopy_notifications"] = nullptr;
    }

    // Copies per byte of the application's messages. With the receiver outside this kernel
    // only this host's share is known: copies_per_byte says so, this_host_copies_per_byte
    // gives the share.
    std::vector<std::string> cpb_missing;
    for (const auto* why : {&no_send, &no_def, &no_recv})
        if (!why->empty()) cpb_missing.push_back(*why);
    std::optional<double> cpb; // the figure checked against the model
    const auto expected = expected_copies_per_byte(in.strategy, app, in.zerocopy, !far);
    if (app.bytes_sent == 0) {
        L["copies_per_byte"] = unsupported("no bytes were sent");
    } else if (!cpb_missing.empty()) {
        L["copies_per_byte"] = unsupported(cpb_missing.front());
    } else {
        const double sent = static_cast<double>(app.bytes_sent);
        const uint64_t here =
            app.user_copy_bytes + req_send_copy + fallback + deferred_total + (far ? 0 : req_recv);
        cpb = here / sent;
        L["copies_per_byte"] =
            far ? unsupported(far_reason + "; this host's share is this_host_copies_per_byte")
                : json(*cpb);
        if (nic) L["this_host_copies_per_byte"] = *cpb;
        json parts = {{"user", app.user_copy_bytes / sent},
                      {"kernel_send", req_send_copy / sent},
                      {"zerocopy_fallback", fallback / sent},
                      {"deferred", deferred_total / sent}};
        parts["receive"] = far ? unsupported(far_reason) : json(req_recv / sent);
        L["copies_per_byte_parts"] = parts;
    }
    if (far) {
        L["copies_per_byte_expected"] = nullptr;
        L["this_host_copies_per_byte_expected"] = expected ? json(*expected) : json(nullptr);
    } else {
        L["copies_per_byte_expected"] = expected ? json(*expected) : json(nullptr);
    }

    // Deferred share of the pinned bytes.
    const bool have_send = no_send.empty(), have_def = no_def.empty();
    if (have_send && have_def && pinned > 0)
        L["deferred_copy_percent"] = 100.0 * deferred_total / pinned;
    else
        L["deferred_copy_percent"] = nullptr;

    // ---- checks -------------------------------------------------------------------------
    json not_evaluated = json::array();
    auto skip = [&](const std::string& name, const std::string& why) {
        not_evaluated.push_back({{"check", name}, {"reason", why}});
    };
    auto add = [&](std::string name, bool passed, std::string detail) {
        out.checks.push_back(Check{std::move(name), passed, std::move(detail)});
    };
    const std::string answers_off = shared_ns && answers > 0
                                        ? " (answers " + format_bytes(answers) +
                                              " taken off: one namespace carries both directions)"
                                        : "";

    {
        const std::string name = "ledger: receive copy bytes == bytes received";
        if (!no_msg_recv.empty()) {
            skip(name, no_msg_recv);
        } else {
            add(name, req_recv == app.bytes_received,
                "receive copy " + format_bytes(req_recv) + ", received " +
                    format_bytes(app.bytes_received) + answers_off);
        }
    }
    {
        const std::string name = "ledger: send copy + pinned + fallback == bytes sent";
        if (!no_send.empty()) {
            skip(name, no_send);
        } else {
            const uint64_t sum = req_send_copy + pinned + fallback;
            std::string detail = "copy " + format_bytes(req_send_copy) + " + pinned " +
                                 format_bytes(pinned) + " + fallback " + format_bytes(fallback) +
                                 " = " + format_bytes(sum) + ", sent " +
                                 format_bytes(app.bytes_sent);
            if (total.send_unclassified_bytes)
                detail += ", unclassified " + format_bytes(total.send_unclassified_bytes);
            if (no_rtx.empty())
                detail += " (retransmits " + format_bytes(total.retrans_bytes) + " counted apart)";
            detail += answers_off;
            add(name, sum == app.bytes_sent && total.send_unclassified_bytes == 0, detail);
        }
    }
    if (answers > 0 && in.tracer) {
        // Each direction is checked where it has a namespace (or sockets) of its own.
        const std::string name = "ledger: answer copies == answer bytes";
        std::vector<std::string> parts, why_not;
        bool ok = true;
        for (const auto& s : sides) {
            if (s.part == Part::sender && no_recv.empty()) {
                ok = ok && s.ans_recv == answers;
                parts.push_back(std::string("received in ") + s.name + " " +
                                format_bytes(s.ans_recv));
            } else if ((s.part == Part::receiver || s.part == Part::local_sink) &&
                       no_send.empty()) {
                ok = ok && s.ans_send_copy == answers;
                parts.push_back(std::string("sent in ") + s.name + " " +
                                format_bytes(s.ans_send_copy));
            }
        }
        if (shared_ns) why_not.push_back("one namespace carries both directions");
        if (far) why_not.push_back("the answers were sent outside this kernel");
        if (nic && !far && !in.tracer->local_sink)
            why_not.push_back("the sink's sockets were not counted apart");
        if (parts.empty()) {
            skip(name,
                 why_not.empty() ? std::string("no direction measured apart") : why_not.front());
        } else {
            std::string detail;
            for (size_t i = 0; i < parts.size(); ++i)
                detail += (i ? ", " : "") + parts[i];
            detail += "; answers " + format_bytes(answers);
            for (const auto& w : why_not)
                detail += "; not checked: " + w;
            add(name, ok, detail);
        }
    }
    {
        const std::string name = "ledger: deferred copy agrees with COPIED notifications";
        const std::string why = !no_def.empty() ? no_def : no_send;
        if (!why.empty()) {
            skip(name, why);
        } else if (!zc_cell || !in.zerocopy) {
            add(name, deferred_total == 0,
                "no zerocopy sends; deferred copy " + format_bytes(deferred_total) +
                    " (expected 0)");
        } else if (in.zerocopy->completions == 0) {
            skip(name, "no zerocopy completions arrived");
        } else {
            const ZerocopyStats& z = *in.zerocopy;
            const uint64_t slack = no_rtx.empty() ? total.retrans_bytes : 0;
            std::string detail = "deferred " + format_bytes(deferred_total) + " of pinned " +
                                 format_bytes(pinned) + "; completions " +
                                 std::to_string(z.completions_copied) + " of " +
                                 std::to_string(z.completions) + " COPIED";
            bool ok;
            if (pinned == 0) {
                ok = deferred_total == 0; // nothing pinned: COPIED means copied at send time
                detail += "; nothing pinned, so no deferred copy expected";
            } else if (z.completions_copied == z.completions) {
                const double diff = std::fabs(static_cast<double>(deferred_total) - pinned);
                ok = diff <= ledger_tolerance * pinned + slack;
                detail += "; all copied: deferred must be within 1% of pinned";
            } else if (z.completions_copied == 0) {
                ok = deferred_total <= slack;
                detail += "; none copied: deferred must be 0";
            } else {
                ok = deferred_total > 0 && deferred_total <= pinned + slack;
                detail += "; some copied: deferred must be between 0 and pinned";
            }
            if (slack) detail += " (retransmits " + format_bytes(slack) + " allowed)";
            add(name, ok, detail);
        }
    }
    {
        const std::string name = "ledger: copies per byte matches the strategy's model";
        if (!cpb) {
            skip(name, L["copies_per_byte"].is_object()
                           ? L["copies_per_byte"]["unsupported"].get<std::string>()
                           : "no copies per byte");
        } else if (!expected) {
            skip(name, "model undefined (zero-copy cell without completions)");
        } else {
            add(name, within(*cpb, *expected, ledger_tolerance),
                std::string(far ? "this host: " : "") + "measured " + fixed(*cpb, 3) +
                    ", expected " + fixed(*expected, 3) + " (" +
                    std::string(to_string(in.strategy)) +
                    (far ? ", receive copy outside this kernel" : "") + ", within 1%)");
        }
    }
    if (in.tracer) {
        add("tracer: no kernel events missed", in.tracer->missed_events == 0,
            std::to_string(in.tracer->missed_events) +
                " BPF program runs skipped by the kernel (recursion protection)");
        if (zc_cell && in.zerocopy && h_comp && h_comp->unsupported.empty() &&
            h_comp->mechanism != "userspace") {
            const ZerocopyStats& z = *in.zerocopy;
            add("ledger: kernel completions == runner completions",
                total.zc_completed_sends == z.completions &&
                    total.zc_completed_copied == z.completions_copied,
                "kernel " + std::to_string(total.zc_completed_sends) + " (" +
                    std::to_string(total.zc_completed_copied) + " copied), runner " +
                    std::to_string(z.completions) + " (" + std::to_string(z.completions_copied) +
                    " copied)");
        }
    }
    L["checks_not_evaluated"] = not_evaluated;

    // ---- verdict (zero-copy cells) --------------------------------------------------------
    if (!zc_cell) {
        L["verdict"] = nullptr;
        return out;
    }
    const std::string on = std::string(" on ") + std::string(to_string(in.transport));
    if (!have_send || !have_def) {
        // No kernel-side byte counts: the kernel's own notifications still tell.
        const std::string why = !have_send ? no_send : no_def;
        if (in.zerocopy && in.zerocopy->completions > 0) {
            const double copied =
                100.0 * in.zerocopy->completions_copied / in.zerocopy->completions;
            L["verdict"] = std::string(copied >= 99.5  ? "MSG_ZEROCOPY not effective"
                                       : copied <= 0.5 ? "MSG_ZEROCOPY effective"
                                                       : "MSG_ZEROCOPY partly effective") +
                           on + ": " + format_percent(copied) +
                           " of sends completed COPIED (byte counts unavailable: " + why + ")";
        } else {
            L["verdict"] = "MSG_ZEROCOPY effectiveness unknown" + on + ": " + why;
        }
        return out;
    }
    const uint64_t zc_bytes = pinned + fallback;
    if (zc_bytes == 0) {
        L["verdict"] = "MSG_ZEROCOPY not used" + on + ": no bytes were sent with MSG_ZEROCOPY";
        return out;
    }
    const double deferred_capped = std::min<double>(deferred_total, pinned);
    const double fallback_pct = 100.0 * fallback / zc_bytes;
    const double deferred_pct = 100.0 * deferred_capped / zc_bytes;
    const double effective_pct = 100.0 - fallback_pct - deferred_pct;

    std::vector<std::string> parts;
    if (fallback > 0)
        parts.push_back(format_percent(fallback_pct) +
                        " of zerocopy bytes copied at send time (fallback: no SOCK_ZEROCOPY "
                        "or no scatter-gather on the route)");
    // Where the later copies happened, the largest share first.
    std::vector<std::pair<uint64_t, std::string>> where;
    for (const auto& s : sides) {
        const uint64_t d = std::min(deferred_bytes(*s.k, def_mech), pinned);
        if (d == 0) continue;
        // nic with the sink here: the copy is local delivery in our own namespace.
        const Side& named = (nic && receiver_here == true && s.part != Part::local_sink)
                                ? Side("local_sink", Part::local_sink, s.inode, s.k)
                                : s;
        where.emplace_back(d, where_deferred(named, in.transport));
    }
    std::stable_sort(where.begin(), where.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [d, text] : where)
        parts.push_back(format_percent(100.0 * d / zc_bytes) + " of zerocopy bytes copied " + text);
    std::string joined;
    for (size_t i = 0; i < parts.size(); ++i)
        joined += (i ? "; " : "") + parts[i];

    if (far && fallback == 0 && deferred_total == 0)
        L["verdict"] = "MSG_ZEROCOPY effective" + on +
                       ": 100% of bytes sent by reference, no copy on this host";
    else if (effective_pct >= 99.5)
        L["verdict"] = "MSG_ZEROCOPY effective" + on + " for " + format_percent(effective_pct) +
                       " of bytes" + (joined.empty() ? "" : "; " + joined);
    else if (effective_pct <= 0.5)
        L["verdict"] = "MSG_ZEROCOPY not effective" + on + ": " + joined;
    else
        L["verdict"] = "MSG_ZEROCOPY partly effective" + on + ": " + format_percent(effective_pct) +
                       " of zerocopy bytes avoided a copy; " + joined;
    return out;
}

} // namespace copyscope
