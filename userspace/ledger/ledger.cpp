#include "ledger/ledger.h"

#include <cmath>
#include <cstdio>

namespace copyscope {
namespace {

using nlohmann::json;

const char* strategy_name(Strategy s) {
    switch (s) {
    case Strategy::two_copy:
        return "two-copy";
    case Strategy::per_field:
        return "per-field";
    case Strategy::one_copy:
        return "one-copy";
    case Strategy::zero_copy:
        return "zero-copy";
    }
    return "?";
}

const char* transport_name(Transport t) {
    switch (t) {
    case Transport::veth:
        return "veth";
    case Transport::loopback:
        return "loopback";
    }
    return "?";
}

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

KernelCounts& operator+=(KernelCounts& a, const KernelCounts& b) {
    a.send_calls += b.send_calls;
    a.send_bytes += b.send_bytes;
    a.send_copy_bytes += b.send_copy_bytes;
    a.zc_send_calls += b.zc_send_calls;
    a.zc_pinned_bytes += b.zc_pinned_bytes;
    a.zc_fallback_bytes += b.zc_fallback_bytes;
    a.send_unclassified_bytes += b.send_unclassified_bytes;
    a.xmit_zc_skbs += b.xmit_zc_skbs;
    a.xmit_zc_bytes += b.xmit_zc_bytes;
    a.xmit_zc_pages += b.xmit_zc_pages;
    a.fwd_zc_bytes += b.fwd_zc_bytes;
    a.rx_zc_skbs += b.rx_zc_skbs;
    a.rx_zc_bytes += b.rx_zc_bytes;
    a.deferred_calls += b.deferred_calls;
    a.deferred_bytes += b.deferred_bytes;
    a.recv_calls += b.recv_calls;
    a.recv_bytes += b.recv_bytes;
    a.retrans_segs += b.retrans_segs;
    a.retrans_bytes += b.retrans_bytes;
    a.zc_completed_sends += b.zc_completed_sends;
    a.zc_completed_copied += b.zc_completed_copied;
    return a;
}

json raw_counts(const KernelCounts& k) {
    return json{{"send_calls", k.send_calls},
                {"send_bytes", k.send_bytes},
                {"send_copy_bytes", k.send_copy_bytes},
                {"zc_send_calls", k.zc_send_calls},
                {"zc_pinned_bytes", k.zc_pinned_bytes},
                {"zc_fallback_bytes", k.zc_fallback_bytes},
                {"send_unclassified_bytes", k.send_unclassified_bytes},
                {"xmit_zc_skbs", k.xmit_zc_skbs},
                {"xmit_zc_bytes", k.xmit_zc_bytes},
                {"xmit_zc_pages", k.xmit_zc_pages},
                {"fwd_zc_bytes", k.fwd_zc_bytes},
                {"rx_zc_skbs", k.rx_zc_skbs},
                {"rx_zc_bytes", k.rx_zc_bytes},
                {"deferred_calls", k.deferred_calls},
                {"deferred_bytes", k.deferred_bytes},
                {"recv_calls", k.recv_calls},
                {"recv_bytes", k.recv_bytes},
                {"retrans_segs", k.retrans_segs},
                {"retrans_bytes", k.retrans_bytes},
                {"zc_completed_sends", k.zc_completed_sends},
                {"zc_completed_copied", k.zc_completed_copied}};
}

json unsupported(const std::string& reason) {
    return json{{"unsupported", reason}};
}

bool within(double value, double expected, double tolerance) {
    if (expected == 0) return value == 0;
    return std::fabs(value - expected) <= tolerance * std::fabs(expected);
}

std::string bytes_str(uint64_t b) {
    return std::to_string(b) + " B";
}

std::string fmt(double v, int decimals = 3) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

// The namespace fields one side of the lab contributes.
struct Side {
    const char* name;
    uint64_t inode;
    const KernelCounts* k;
};

} // namespace

uint64_t deferred_bytes(const KernelCounts& k, const std::string& mechanism) {
    if (mechanism == "inferred")
        return k.rx_zc_bytes > k.fwd_zc_bytes ? k.rx_zc_bytes - k.fwd_zc_bytes : 0;
    return k.deferred_bytes;
}

std::optional<double> expected_copies_per_byte(Strategy s, const AppCounts& app,
                                               const std::optional<ZerocopyStats>& zc) {
    if (app.bytes_sent == 0) return std::nullopt;
    const double user = static_cast<double>(app.user_copy_bytes) / app.bytes_sent;
    const double receive = 1.0;
    if (s != Strategy::zero_copy) return user + 1.0 + receive;
    // Every zerocopy send is copied once more iff its completion says COPIED (at send
    // time as a fallback, or later); sends are the unit of completions, and the runner
    // sends equal-sized messages, so the fraction of sends is the fraction of bytes.
    if (!zc || zc->completions == 0) return std::nullopt;
    const double copied = static_cast<double>(zc->completions_copied) / zc->completions;
    return user + copied + receive;
}

std::string format_percent(double p) {
    // Never "100%" for a share that is not whole, never "0%" for one that is not empty.
    const double r = std::round(p);
    const bool edge = (r == 100 && p < 100) || (r == 0 && p > 0);
    if (std::fabs(p - r) < 0.05 && !edge) return fmt(r, 0) + "%";
    std::string s = fmt(p, 1);
    if (s == "100.0" && p < 100) return ">99.9%";
    if (s == "0.0" && p > 0) return "<0.1%";
    return s + "%";
}

LedgerResult compute_ledger(const LedgerInput& in) {
    LedgerResult out;
    json& L = out.ledger;
    const AppCounts& app = in.app;
    const bool zc_cell = in.strategy == Strategy::zero_copy;

    L["strategy"] = strategy_name(in.strategy);
    L["transport"] = transport_name(in.transport);
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

    // Sides of the lab: two namespaces over veth, one over loopback.
    std::vector<Side> sides;
    KernelCounts total;
    if (in.tracer) {
        const TracerView& tv = *in.tracer;
        if (tv.receiver_ns == tv.sender_ns) {
            sides.push_back({"shared", tv.sender_ns, &tv.sender});
        } else {
            sides.push_back({"sender", tv.sender_ns, &tv.sender});
            sides.push_back({"receiver", tv.receiver_ns, &tv.receiver});
        }
        for (const auto& s : sides)
            total += *s.k;
    }
    const uint64_t deferred_total = deferred_bytes(total, def_mech);

    auto field = [](const std::string& why, uint64_t value) -> json {
        return why.empty() ? json(value) : unsupported(why);
    };
    L["kernel_send_copy_bytes"] = field(no_send, total.send_copy_bytes);
    L["zerocopy_pinned_bytes"] = field(no_send, total.zc_pinned_bytes);
    L["pinned_pages"] = field(no_pages, total.xmit_zc_pages);
    L["zerocopy_fallback_bytes"] = field(no_send, total.zc_fallback_bytes);
    L["deferred_copy_bytes"] = field(no_def, deferred_total);
    L["receive_copy_bytes"] = field(no_recv, total.recv_bytes);
    L["retransmit_bytes"] = field(no_rtx, total.retrans_bytes);

    json by_ns = json::object();
    for (const auto& s : sides) {
        const KernelCounts& k = *s.k;
        by_ns[s.name] = {{"inode", s.inode},
                         {"kernel_send_copy_bytes", field(no_send, k.send_copy_bytes)},
                         {"zerocopy_pinned_bytes", field(no_send, k.zc_pinned_bytes)},
                         {"pinned_pages", field(no_pages, k.xmit_zc_pages)},
                         {"zerocopy_fallback_bytes", field(no_send, k.zc_fallback_bytes)},
                         {"deferred_copy_bytes", field(no_def, deferred_bytes(k, def_mech))},
                         {"receive_copy_bytes", field(no_recv, k.recv_bytes)},
                         {"retransmit_bytes", field(no_rtx, k.retrans_bytes)},
                         {"raw", raw_counts(k)}};
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

    // Copies per byte.
    std::vector<std::string> cpb_missing;
    for (const auto* why : {&no_send, &no_def, &no_recv})
        if (!why->empty()) cpb_missing.push_back(*why);
    std::optional<double> cpb;
    if (app.bytes_sent == 0) {
        L["copies_per_byte"] = unsupported("no bytes were sent");
    } else if (!cpb_missing.empty()) {
        L["copies_per_byte"] = unsupported(cpb_missing.front());
    } else {
        const double sent = static_cast<double>(app.bytes_sent);
        cpb = (app.user_copy_bytes + total.send_copy_bytes + total.zc_fallback_bytes +
               deferred_total + total.recv_bytes) /
              sent;
        L["copies_per_byte"] = *cpb;
        L["copies_per_byte_parts"] = {{"user", app.user_copy_bytes / sent},
                                      {"kernel_send", total.send_copy_bytes / sent},
                                      {"zerocopy_fallback", total.zc_fallback_bytes / sent},
                                      {"deferred", deferred_total / sent},
                                      {"receive", total.recv_bytes / sent}};
    }
    const auto expected = expected_copies_per_byte(in.strategy, app, in.zerocopy);
    L["copies_per_byte_expected"] = expected ? json(*expected) : json(nullptr);

    // Deferred share of the pinned bytes.
    const bool have_send = no_send.empty(), have_def = no_def.empty();
    if (have_send && have_def && total.zc_pinned_bytes > 0)
        L["deferred_copy_percent"] = 100.0 * deferred_total / total.zc_pinned_bytes;
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

    {
        const std::string name = "ledger: receive copy bytes == bytes received";
        if (!no_recv.empty()) {
            skip(name, no_recv);
        } else {
            add(name, total.recv_bytes == app.bytes_received,
                "receive copy " + bytes_str(total.recv_bytes) + ", received " +
                    bytes_str(app.bytes_received));
        }
    }
    {
        const std::string name = "ledger: send copy + pinned + fallback == bytes sent";
        if (!no_send.empty()) {
            skip(name, no_send);
        } else {
            const uint64_t sum =
                total.send_copy_bytes + total.zc_pinned_bytes + total.zc_fallback_bytes;
            std::string detail = "copy " + bytes_str(total.send_copy_bytes) + " + pinned " +
                                 bytes_str(total.zc_pinned_bytes) + " + fallback " +
                                 bytes_str(total.zc_fallback_bytes) + " = " + bytes_str(sum) +
                                 ", sent " + bytes_str(app.bytes_sent);
            if (total.send_unclassified_bytes)
                detail += ", unclassified " + bytes_str(total.send_unclassified_bytes);
            if (no_rtx.empty())
                detail += " (retransmits " + bytes_str(total.retrans_bytes) + " counted apart)";
            add(name, sum == app.bytes_sent && total.send_unclassified_bytes == 0, detail);
        }
    }
    {
        const std::string name = "ledger: deferred copy agrees with COPIED notifications";
        const std::string why = !no_def.empty() ? no_def : no_send;
        if (!why.empty()) {
            skip(name, why);
        } else if (!zc_cell || !in.zerocopy) {
            add(name, deferred_total == 0,
                "no zerocopy sends; deferred copy " + bytes_str(deferred_total) + " (expected 0)");
        } else if (in.zerocopy->completions == 0) {
            skip(name, "no zerocopy completions arrived");
        } else {
            const ZerocopyStats& z = *in.zerocopy;
            const uint64_t pinned = total.zc_pinned_bytes;
            const uint64_t slack = no_rtx.empty() ? total.retrans_bytes : 0;
            std::string detail = "deferred " + bytes_str(deferred_total) + " of pinned " +
                                 bytes_str(pinned) + "; completions " +
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
            if (slack) detail += " (retransmits " + bytes_str(slack) + " allowed)";
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
                "measured " + fmt(*cpb) + ", expected " + fmt(*expected) + " (" +
                    strategy_name(in.strategy) + ", within 1%)");
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
    const std::string on = std::string(" on ") + transport_name(in.transport);
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
    const uint64_t pinned = total.zc_pinned_bytes, fallback = total.zc_fallback_bytes;
    const uint64_t zc_bytes = pinned + fallback;
    if (zc_bytes == 0) {
        L["verdict"] = "MSG_ZEROCOPY not used" + on + ": no bytes were sent with MSG_ZEROCOPY";
        return out;
    }
    const double deferred_capped = std::min<double>(deferred_total, pinned);
    const double fallback_pct = 100.0 * fallback / zc_bytes;
    const double deferred_pct = 100.0 * deferred_capped / zc_bytes;
    const double effective_pct = 100.0 - fallback_pct - deferred_pct;

    // Where the later copy happened.
    std::string where;
    if (sides.size() == 1) {
        where = "at local delivery in the lab's one namespace";
    } else {
        const uint64_t d_send = deferred_bytes(*sides[0].k, def_mech);
        const uint64_t d_recv = deferred_bytes(*sides[1].k, def_mech);
        if (d_recv >= d_send)
            where = "at local delivery in the receiver's namespace";
        else
            where = "in the sender's namespace";
    }
    std::vector<std::string> parts;
    if (fallback > 0)
        parts.push_back(format_percent(fallback_pct) +
                        " of zerocopy bytes copied at send time (fallback: no SOCK_ZEROCOPY "
                        "or no scatter-gather on the route)");
    if (deferred_capped > 0)
        parts.push_back(format_percent(deferred_pct) + " of zerocopy bytes copied " + where);
    std::string joined;
    for (size_t i = 0; i < parts.size(); ++i)
        joined += (i ? "; " : "") + parts[i];

    if (effective_pct >= 99.5)
        L["verdict"] =
            "MSG_ZEROCOPY effective" + on + " for " + format_percent(effective_pct) + " of bytes";
    else if (effective_pct <= 0.5)
        L["verdict"] = "MSG_ZEROCOPY not effective" + on + ": " + joined;
    else
        L["verdict"] = "MSG_ZEROCOPY partly effective" + on + ": " + format_percent(effective_pct) +
                       " of zerocopy bytes avoided a copy; " + joined;
    return out;
}

} // namespace copyscope
