// Reading the copy ledger back from a report. A figure's evidence is not written beside it:
// it is its hook's, and is taken from the ledger's "hooks" as the ledger itself does.
#include <algorithm>
#include <iterator>

#include "report/ledger_json.h"

namespace copyscope {
namespace {

Evidence evidence_of(const Ledger& L, const char* hook) {
    const HookUse* h = L.hook(hook);
    return h && h->form ? h->form.evidence() : Evidence::exact;
}

// A byte figure counted by `hook`: its evidence is the hook's.
Measured<uint64_t> figure(const JsonIn& j, const char* key, const Ledger& L, const char* hook) {
    Measured<uint64_t> m = j.measured<uint64_t>(key);
    if (!m) return m;
    return Measured<uint64_t>(*m, evidence_of(L, hook), hook);
}

ByteFigures figures(const JsonIn& j, const Ledger& L) {
    ByteFigures f;
    for (const ByteFigureDef& d : byte_figures) {
        Measured<uint64_t> m = figure(j, std::string(d.key).c_str(), L, d.hook);
        if (m && d.decision_rule)
            m = Measured<uint64_t>(*m, Evidence::inferred,
                                   std::string(d.hook) + std::string(decision_rule_source));
        f.*d.field = m;
    }
    return f;
}

HookUse hook_from_json(const std::string& name, const JsonIn& j) {
    if (auto why = j.unsupported()) return HookUse{name, Unsupported{*why}};
    HookChoice c;
    c.mechanism =
        j.at("mechanism").as_enum<HookMechanism>(hook_mechanism_from_string, "hook mechanism");
    c.targets = j.get_or<std::vector<std::string>>("targets", {});
    c.note = j.get_or<std::string>("note", "");
    const Evidence e = j.has("count") ? j.at("count").as_enum<Evidence>(evidence_from_string,
                                                                        "count (exact or inferred)")
                                      : Evidence::exact;
    return HookUse{name, Measured<HookChoice>(c, e)};
}

// In the tracer's order; hooks this version does not know come last.
std::vector<HookUse> hooks_from_json(const JsonIn& j) {
    std::vector<HookUse> hooks;
    for (const auto& [name, h] : j.members())
        hooks.push_back(hook_from_json(name, h));
    auto rank = [](const HookUse& h) {
        auto it = std::find_if(std::begin(all_hooks), std::end(all_hooks),
                               [&](const char* n) { return h.hook == n; });
        return it - std::begin(all_hooks);
    };
    std::stable_sort(hooks.begin(), hooks.end(),
                     [&](const HookUse& a, const HookUse& b) { return rank(a) < rank(b); });
    return hooks;
}

TracerStatus tracer_from_json(const JsonIn& j) {
    TracerStatus t;
    t.available = j.get_or("available", false);
    t.reason = j.get_or<std::string>("reason", "");
    t.missed_events = j.get_or<uint64_t>("missed_events", 0);
    if (auto mode = j.find("hook_mode"))
        t.hook_mode = mode->as_enum<HookMode>(hook_mode_from_string, "hook mode");
    t.note = j.get_or<std::string>("note", "");
    t.socket_filter = j.get_or<std::string>("socket_filter", "");
    return t;
}

NamespaceLedger namespace_from_json(const std::string& name, const JsonIn& j, const Ledger& L) {
    NamespaceLedger n;
    auto role = namespace_role_from_string(name);
    if (!role) j.fail("unknown namespace role '" + name + "'");
    n.role = *role;
    n.inode = j.get_or<uint64_t>("inode", 0);
    n.figures = figures(j, L);
    if (j.has("response_send_copy_bytes"))
        n.response_send_copy_bytes = figure(j, "response_send_copy_bytes", L, hook_send);
    if (j.has("response_receive_copy_bytes"))
        n.response_receive_copy_bytes = figure(j, "response_receive_copy_bytes", L, hook_receive);
    if (auto raw = j.find("raw")) n.raw = kernel_counts_from_json(*raw);
    n.note = j.get_or<std::string>("note", "");
    return n;
}

Responses responses_from_json(const JsonIn& j, const Ledger& L) {
    Responses r;
    r.bytes = j.get_or<uint64_t>("bytes", 0);
    r.send_copy_bytes = figure(j, "send_copy_bytes", L, hook_send);
    r.receive_copy_bytes = figure(j, "receive_copy_bytes", L, hook_receive);
    r.measured = j.get_or<std::string>("measured", "");
    r.note = j.get_or<std::string>("note", "");
    return r;
}

ZerocopyNotifications notifications_from_json(const JsonIn& j) {
    ZerocopyNotifications n;
    n.runner = zerocopy_stats_from_json(j, "missing");
    n.source = j.get_or<std::string>("source", "");
    if (auto k = j.find("kernel"))
        n.kernel = KernelCompletions{
            k->get_or<uint64_t>("completed_sends", 0), k->get_or<uint64_t>("completed_copied", 0),
            k->at("mechanism")
                .as_enum<HookMechanism>(hook_mechanism_from_string, "hook mechanism")};
    return n;
}

Measured<StackedNotifications> stacked_from_json(const JsonIn& j) {
    if (auto why = j.unsupported()) return Unsupported{*why};
    StackedNotifications s{j.get_or<uint64_t>("classified", 0),
                           j.get_or<uint64_t>("classified_copied", 0),
                           j.get<uint64_t>("notifications"), j.get_or<uint64_t>("bytes", 0)};
    return Measured<StackedNotifications>(
        s, j.at("count").as_enum<Evidence>(evidence_from_string, "evidence"),
        j.get_or<std::string>("hook", ""));
}

UringNotifications uring_notifications_from_json(const JsonIn& j) {
    UringNotifications n;
    n.runner = io_uring_stats_from_json(j);
    if (auto k = j.find("kernel"))
        n.kernel = KernelUringNotifications{
            k->get_or<uint64_t>("posted", 0), k->get_or<uint64_t>("posted_copied", 0),
            k->at("mechanism")
                .as_enum<HookMechanism>(hook_mechanism_from_string, "hook mechanism")};
    if (auto s = j.find("flagged_copied_stacked")) n.stacked = stacked_from_json(*s);
    return n;
}

SendLimits send_limits_from_json(const JsonIn& j) {
    SendLimits l;
    l.optmem_max = j.measured<uint64_t>("optmem_max");
    if (l.optmem_max)
        l.optmem_max = Measured<uint64_t>(*l.optmem_max, Evidence::exact,
                                          j.get_or<std::string>("optmem_max_scope", ""));
    l.cap_ipc_lock = j.get_or("cap_ipc_lock", false);
    const auto m = j.find("memlock_limit");
    if (!m)
        l.memlock_limit = Unsupported{not_in_report};
    else if (auto why = m->unsupported())
        l.memlock_limit = Unsupported{*why};
    else if (m->json().is_string())
        l.memlock_limit = std::optional<uint64_t>{}; // "unlimited"
    else
        l.memlock_limit = std::optional<uint64_t>{m->as<uint64_t>()};
    return l;
}

UdpZerocopySend udp_zerocopy_send_from_json(const JsonIn& j) {
    UdpZerocopySend u;
    u.datagram_bytes = j.get_or<uint64_t>("datagram_bytes", 0);
    u.gso = j.get_or<uint32_t>("gso", 0);
    u.corked = j.get_or("corked", false);
    if (auto d = j.find("device"); d && !d->unsupported())
        u.device = SendDevice{d->get<std::string>("name"), d->get<unsigned>("mtu"),
                              d->get<bool>("tx_checksum"), d->get<bool>("scatter_gather")};
    if (auto rules = j.find("rules"))
        for (const JsonIn& r : rules->elements())
            u.rules.push_back(
                r.as_enum<UdpFallbackRule>(udp_fallback_rule_from_string, "udp fallback rule"));
    u.cause = j.measured<std::string>("cause");
    if (u.cause)
        u.cause = Measured<std::string>(
            *u.cause, j.at("cause_evidence").as_enum<Evidence>(evidence_from_string, "evidence"),
            j.get_or<std::string>("cause_basis", ""));
    return u;
}

void copies_per_byte_from_json(const JsonIn& j, Ledger& L) {
    // As the ledger sets it: the deferred copy's hook counts only where it adds a copy.
    const bool deferred = L.figures.deferred_copy_bytes.value_or(0) > 0;
    const Evidence cpb_evidence =
        weaker(evidence_of(L, hook_send),
               weaker(deferred ? evidence_of(L, hook_deferred) : Evidence::exact,
                      evidence_of(L, hook_receive)));
    L.copies_per_byte = j.measured<double>("copies_per_byte");
    if (L.copies_per_byte) L.copies_per_byte = Measured<double>(*L.copies_per_byte, cpb_evidence);
    L.this_host_copies_per_byte = j.optional<double>("this_host_copies_per_byte");
    if (auto p = j.find("copies_per_byte_parts")) {
        CopiesPerByteParts parts;
        parts.user = p->get_or("user", 0.0);
        parts.kernel_send = p->get_or("kernel_send", 0.0);
        parts.zerocopy_fallback = p->get_or("zerocopy_fallback", 0.0);
        parts.deferred = p->get_or("deferred", 0.0);
        parts.receive = p->measured<double>("receive");
        if (parts.receive)
            parts.receive = Measured<double>(*parts.receive, evidence_of(L, hook_receive));
        L.copies_per_byte_parts = parts;
    }
    L.copies_per_byte_expected = j.optional<double>(
        L.receiver_outside() ? "this_host_copies_per_byte_expected" : "copies_per_byte_expected");
}

// The ledger's own header: what the cell was, the app's bytes, the tracer and its hooks.
void header_from_json(const JsonIn& j, const CellSpec& cell, Ledger& L) {
    L.strategy = j.has("strategy")
                     ? j.at("strategy").as_enum<Strategy>(strategy_from_string, "strategy")
                     : cell.strategy;
    L.transport = j.has("transport")
                      ? j.at("transport").as_enum<Transport>(transport_from_string, "transport")
                      : cell.transport;
    L.app_bytes_sent = j.get_or<uint64_t>("app_bytes_sent", 0);
    L.app_bytes_received = j.get_or<uint64_t>("app_bytes_received", 0);
    L.user_copy_bytes = j.get_or<uint64_t>("user_copy_bytes", 0);
    if (auto t = j.find("tracer")) L.tracer = tracer_from_json(*t);
    if (auto h = j.find("hooks")) L.hooks = hooks_from_json(*h);
}

} // namespace

KernelCounts kernel_counts_from_json(const JsonIn& j) {
    KernelCounts k;
    for (const KernelCounterDef& c : kernel_counters())
        k.*c.field = j.get_or<uint64_t>(std::string(c.name).c_str(), 0);
    return k;
}

IoUringStats io_uring_stats_from_json(const JsonIn& j) {
    IoUringStats u;
    u.requests = j.get_or<uint64_t>("requests", 0);
    u.cqes = j.get_or<uint64_t>("cqes", 0);
    u.cqes_more = j.get_or<uint64_t>("cqes_more", 0);
    u.notifications = j.get_or<uint64_t>("notifications", 0);
    u.notifications_copied = j.get_or<uint64_t>("notifications_copied", 0);
    u.copied_request_bytes = j.get_or<uint64_t>("copied_request_bytes", 0);
    u.registered_buffers = j.get_or<uint64_t>("registered_buffers", 0);
    u.missing = j.get_or<uint64_t>("missing_notifications", 0);
    u.notification_wait_seconds = j.get_or("notification_wait_seconds", 0.0);
    u.send_wait_seconds = j.get_or("send_wait_seconds", 0.0);
    return u;
}

SendfileStats sendfile_stats_from_json(const JsonIn& j) {
    SendfileStats s;
    s.file_bytes_written = j.get_or<uint64_t>("file_bytes_written", 0);
    s.ranges_released = j.get_or<uint64_t>("ranges_released", 0);
    s.bytes_released = j.get_or<uint64_t>("bytes_released", 0);
    return s;
}

ZerocopyStats zerocopy_stats_from_json(const JsonIn& j, const char* missing_key) {
    ZerocopyStats z;
    z.sends = j.get_or<uint64_t>("sends", 0);
    z.completions = j.get_or<uint64_t>("completions", 0);
    z.completions_copied = j.get_or<uint64_t>("completions_copied", 0);
    z.notifications = j.get_or<uint64_t>("notifications", 0);
    z.enobufs = j.get_or<uint64_t>("enobufs", 0);
    z.missing = j.get_or<uint64_t>(missing_key, 0);
    return z;
}

Ledger ledger_from_json(const JsonIn& j, const CellSpec& cell) {
    Ledger L;
    header_from_json(j, cell, L);
    L.figures = figures(j, L);
    L.deferred_copy_retransmit_bytes =
        figure(j, "deferred_copy_retransmit_bytes", L, hook_delivery);
    L.receiver_in_this_kernel = j.optional<bool>("receiver_in_this_kernel");
    if (j.has("receiver_evidence")) {
        auto e = j.measured<std::string>("receiver_evidence");
        L.receiver_evidence = e ? Measured<std::string>(*e, Evidence::inferred) : e;
    }
    if (auto r = j.find("responses")) L.responses = responses_from_json(*r, L);
    if (auto ns = j.find("by_namespace")) {
        for (const auto& [name, n] : ns->members())
            L.by_namespace.push_back(namespace_from_json(name, n, L));
        std::stable_sort(L.by_namespace.begin(), L.by_namespace.end(),
                         [](const auto& a, const auto& b) { return a.role < b.role; });
    }
    if (auto z = j.find("zerocopy_notifications"))
        L.zerocopy_notifications = notifications_from_json(*z);
    if (auto u = j.find("io_uring_notifications"))
        L.io_uring_notifications = uring_notifications_from_json(*u);
    if (auto l = j.find("send_limits")) L.send_limits = send_limits_from_json(*l);
    if (auto u = j.find("udp_zerocopy_send")) L.udp_zerocopy_send = udp_zerocopy_send_from_json(*u);
    copies_per_byte_from_json(j, L);
    L.deferred_copy_percent = j.optional<double>("deferred_copy_percent");
    if (auto skipped = j.find("checks_not_evaluated"))
        for (const JsonIn& s : skipped->elements())
            L.checks_not_evaluated.push_back(
                {s.get_or<std::string>("check", ""), s.get_or<std::string>("reason", "")});
    L.verdict = j.optional<std::string>("verdict");
    L.copy_model = j.optional<std::string>("copy_model");
    return L;
}

HookUse hook_use_from_json(const std::string& name, const JsonIn& j) {
    return hook_from_json(name, j);
}

} // namespace copyscope
