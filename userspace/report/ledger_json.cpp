#include "report/ledger_json.h"

#include "report/measured_json.h"

namespace copyscope {
namespace {

using nlohmann::json;

template <class T> json optional_json(const std::optional<T>& v) {
    return v ? json(*v) : json(nullptr);
}

json figures_json(const ByteFigures& f) {
    json j = json::object();
    for (const ByteFigureDef& d : byte_figures)
        j[std::string(d.key)] = measured_json(f.*d.field);
    return j;
}

json tracer_json(const TracerStatus& t) {
    json j = {{"available", t.available}};
    if (t.available)
        j["missed_events"] = t.missed_events;
    else
        j["reason"] = t.reason;
    if (t.hook_mode) j["hook_mode"] = std::string(to_string(*t.hook_mode));
    if (!t.note.empty()) j["note"] = t.note;
    if (!t.socket_filter.empty()) j["socket_filter"] = t.socket_filter;
    return j;
}

json namespace_json(const NamespaceLedger& n) {
    json j = figures_json(n.figures);
    j["inode"] = n.inode;
    j["raw"] = to_json(n.raw);
    if (n.response_send_copy_bytes)
        j["response_send_copy_bytes"] = measured_json(*n.response_send_copy_bytes);
    if (n.response_receive_copy_bytes)
        j["response_receive_copy_bytes"] = measured_json(*n.response_receive_copy_bytes);
    if (!n.note.empty()) j["note"] = n.note;
    return j;
}

json responses_json(const Responses& r) {
    return {{"bytes", r.bytes},
            {"send_copy_bytes", measured_json(r.send_copy_bytes)},
            {"receive_copy_bytes", measured_json(r.receive_copy_bytes)},
            {"measured", r.measured},
            {"note", r.note}};
}

json notifications_json(const ZerocopyNotifications& n) {
    json j = to_json(n.runner, "missing");
    j["source"] = n.source;
    if (n.kernel)
        j["kernel"] = {{"completed_sends", n.kernel->completed_sends},
                       {"completed_copied", n.kernel->completed_copied},
                       {"mechanism", std::string(to_string(n.kernel->mechanism))}};
    return j;
}

json stacked_json(const Measured<StackedNotifications>& m) {
    if (!m) return unsupported_json(m.reason());
    return {{"what", stacked_notifications_what},
            {"notifications", m->stacked},
            {"bytes", m->stacked_bytes},
            {"classified", m->classified},
            {"classified_copied", m->classified_copied},
            {"count", std::string(to_string(m.evidence()))},
            {"hook", m.source()}};
}

json uring_notifications_json(const UringNotifications& n) {
    json j = to_json(n.runner);
    j["source"] = "sender: io_uring CQE reads";
    if (n.kernel)
        j["kernel"] = {{"posted", n.kernel->posted},
                       {"posted_copied", n.kernel->posted_copied},
                       {"mechanism", std::string(to_string(n.kernel->mechanism))}};
    if (n.stacked) j["flagged_copied_stacked"] = stacked_json(*n.stacked);
    return j;
}

json send_limits_json(const SendLimits& l) {
    json j = {{"optmem_max", measured_json(l.optmem_max)}, {"cap_ipc_lock", l.cap_ipc_lock}};
    if (l.optmem_max) j["optmem_max_scope"] = l.optmem_max.source();
    if (!l.memlock_limit)
        j["memlock_limit"] = unsupported_json(l.memlock_limit.reason());
    else
        j["memlock_limit"] = *l.memlock_limit ? json(**l.memlock_limit) : json("unlimited");
    return j;
}

json udp_zerocopy_send_json(const UdpZerocopySend& u) {
    json j = {{"datagram_bytes", u.datagram_bytes}, {"gso", u.gso}, {"corked", u.corked}};
    j["device"] = u.device ? json{{"name", u.device->name},
                                  {"mtu", u.device->mtu},
                                  {"tx_checksum", u.device->tx_checksum},
                                  {"scatter_gather", u.device->scatter_gather}}
                           : unsupported_json("the sending device's features were not read");
    j["rules"] = json::array();
    for (UdpFallbackRule r : u.rules)
        j["rules"].push_back(std::string(to_string(r)));
    j["expected"] = u.rules.empty() ? "pinned" : "copied_at_send";
    j["cause"] = measured_json(u.cause);
    if (u.cause) {
        j["cause_evidence"] = std::string(to_string(u.cause.evidence()));
        j["cause_basis"] = u.cause.source();
    }
    return j;
}

void copies_per_byte_json(const Ledger& L, json& j) {
    j["copies_per_byte"] = measured_json(L.copies_per_byte);
    if (L.this_host_copies_per_byte) j["this_host_copies_per_byte"] = *L.this_host_copies_per_byte;
    if (const auto& p = L.copies_per_byte_parts)
        j["copies_per_byte_parts"] = {{"user", p->user},
                                      {"kernel_send", p->kernel_send},
                                      {"zerocopy_fallback", p->zerocopy_fallback},
                                      {"deferred", p->deferred},
                                      {"receive", measured_json(p->receive)}};
    // With the receiver outside this kernel the model's figure is this host's share.
    if (L.receiver_outside()) {
        j["copies_per_byte_expected"] = nullptr;
        j["this_host_copies_per_byte_expected"] = optional_json(L.copies_per_byte_expected);
    } else {
        j["copies_per_byte_expected"] = optional_json(L.copies_per_byte_expected);
    }
}

} // namespace

json to_json(const KernelCounts& k) {
    json j = json::object();
    for (const KernelCounterDef& c : kernel_counters())
        j[std::string(c.name)] = k.*c.field;
    return j;
}

json to_json(const ZerocopyStats& z, const char* missing_key) {
    return {{"sends", z.sends},
            {"completions", z.completions},
            {"completions_copied", z.completions_copied},
            {"notifications", z.notifications},
            {"enobufs", z.enobufs},
            {missing_key, z.missing}};
}

json to_json(const IoUringStats& u) {
    return {{"requests", u.requests},
            {"cqes", u.cqes},
            {"cqes_more", u.cqes_more},
            {"notifications", u.notifications},
            {"notifications_copied", u.notifications_copied},
            {"copied_request_bytes", u.copied_request_bytes},
            {"registered_buffers", u.registered_buffers},
            {"missing_notifications", u.missing},
            {"notification_wait_seconds", u.notification_wait_seconds},
            {"send_wait_seconds", u.send_wait_seconds}};
}

json to_json(const SendfileStats& s) {
    return {{"file_bytes_written", s.file_bytes_written},
            {"ranges_released", s.ranges_released},
            {"bytes_released", s.bytes_released}};
}

json to_json(const HookUse& h) {
    if (!h.form) return unsupported_json(h.form.reason());
    json j = {{"mechanism", std::string(to_string(h.form->mechanism))},
              {"targets", h.form->targets},
              {"count", std::string(to_string(h.form.evidence()))}};
    if (!h.form->note.empty()) j["note"] = h.form->note;
    return j;
}

json to_json(const Ledger& L) {
    json j = figures_json(L.figures);
    j["strategy"] = std::string(to_string(L.strategy));
    j["transport"] = std::string(to_string(L.transport));
    j["app_bytes_sent"] = L.app_bytes_sent;
    j["app_bytes_received"] = L.app_bytes_received;
    j["user_copy_bytes"] = L.user_copy_bytes;
    j["tracer"] = tracer_json(L.tracer);
    j["hooks"] = json::object();
    for (const HookUse& h : L.hooks)
        j["hooks"][h.hook] = to_json(h);
    j["deferred_copy_retransmit_bytes"] = measured_json(L.deferred_copy_retransmit_bytes);
    j["receiver_in_this_kernel"] = optional_json(L.receiver_in_this_kernel);
    if (L.receiver_evidence) j["receiver_evidence"] = measured_json(*L.receiver_evidence);
    j["responses"] = L.responses ? responses_json(*L.responses) : json(nullptr);
    j["by_namespace"] = json::object();
    for (const NamespaceLedger& n : L.by_namespace)
        j["by_namespace"][std::string(to_string(n.role))] = namespace_json(n);
    j["zerocopy_notifications"] =
        L.zerocopy_notifications ? notifications_json(*L.zerocopy_notifications) : json(nullptr);
    if (L.io_uring_notifications)
        j["io_uring_notifications"] = uring_notifications_json(*L.io_uring_notifications);
    if (L.send_limits) j["send_limits"] = send_limits_json(*L.send_limits);
    if (L.udp_zerocopy_send) j["udp_zerocopy_send"] = udp_zerocopy_send_json(*L.udp_zerocopy_send);
    copies_per_byte_json(L, j);
    j["deferred_copy_percent"] = optional_json(L.deferred_copy_percent);
    j["checks_not_evaluated"] = json::array();
    for (const SkippedCheck& s : L.checks_not_evaluated)
        j["checks_not_evaluated"].push_back({{"check", s.check}, {"reason", s.reason}});
    j["verdict"] = optional_json(L.verdict);
    j["copy_model"] = optional_json(L.copy_model);
    return j;
}

} // namespace copyscope
