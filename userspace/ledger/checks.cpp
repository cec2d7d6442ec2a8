#include "ledger/checks.h"

#include <cmath>

#include "common/format.h"
#include "ledger/copy_model.h"

namespace copyscope {
namespace {

bool within(double value, double expected, double tolerance) {
    if (expected == 0) return value == 0;
    return std::fabs(value - expected) <= tolerance * std::fabs(expected);
}

// Where one namespace carries both directions, the detail says the answers came off.
std::string answers_off(const Tally& t) {
    if (!t.shared_ns || t.answers == 0) return "";
    return " (answers " + format_bytes(t.answers) +
           " taken off: one namespace carries both directions)";
}

// Zerocopy receive: the kernel copied what it did not map, and mapped what the receiver
// says it mapped.
void receive_copy_mapped(const CheckContext& c, CheckLog& log) {
    const AppCounts& app = c.in.app;
    const std::string name = "ledger: receive copy bytes == bytes received - mapped";
    const Measured<uint64_t>& copied = c.ledger.figures.receive_copy_bytes;
    if (!copied) {
        log.skip(name, copied.reason());
    } else {
        log.add(name, *copied + app.receive_mapped_bytes == app.bytes_received,
                "receive copy " + format_bytes(*copied) + ", received " +
                    format_bytes(app.bytes_received) + ", mapped (receiver) " +
                    format_bytes(app.receive_mapped_bytes));
    }
    const std::string kernel = "ledger: kernel's mapped bytes == receiver's";
    const Measured<uint64_t>& mapped = c.ledger.figures.receive_mapped_bytes;
    if (!mapped) return log.skip(kernel, mapped.reason());
    log.add(kernel, *mapped == app.receive_mapped_bytes,
            "tcp_zerocopy_receive mapped " + format_bytes(*mapped) + ", the receiver counted " +
                format_bytes(app.receive_mapped_bytes));
}

void receive_copy(const CheckContext& c, CheckLog& log) {
    if (c.in.receive == Receive::zerocopy) return receive_copy_mapped(c, log);
    const std::string name = "ledger: receive copy bytes == bytes received";
    const Measured<uint64_t>& received = c.ledger.figures.receive_copy_bytes;
    if (!received) return log.skip(name, received.reason());
    log.add(name, *received == c.in.app.bytes_received,
            "receive copy " + format_bytes(*received) + ", received " +
                format_bytes(c.in.app.bytes_received) + answers_off(c.tally));
}

void send_conservation(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: send copy + pinned + fallback == bytes sent";
    const Tally& t = c.tally;
    if (!t.send) return log.skip(name, t.send.reason());
    const uint64_t sum = t.req_send_copy + t.pinned + t.fallback;
    const uint64_t unclassified = t.total.send_unclassified_bytes;
    std::string detail = "copy " + format_bytes(t.req_send_copy) + " + pinned " +
                         format_bytes(t.pinned) + " + fallback " + format_bytes(t.fallback) +
                         " = " + format_bytes(sum) + ", sent " + format_bytes(c.in.app.bytes_sent);
    if (unclassified) detail += ", unclassified " + format_bytes(unclassified);
    if (t.retransmits)
        detail += " (retransmits " + format_bytes(t.total.retrans_bytes) + " counted apart)";
    detail += answers_off(t);
    log.add(name, sum == c.in.app.bytes_sent && unclassified == 0, detail);
}

// Each direction of the answers is checked where it has a namespace (or sockets) of its own.
void answer_copies(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (t.answers == 0 || !c.in.tracer) return;
    const std::string name = "ledger: answer copies == answer bytes";
    std::vector<std::string> parts, why_not;
    bool ok = true;
    for (const SideTally& s : t.sides) {
        const std::string side(to_string(s.role));
        if (s.role == NamespaceRole::sender && t.receive) {
            ok = ok && s.ans_recv == t.answers;
            parts.push_back("received in " + side + " " + format_bytes(s.ans_recv));
        } else if ((s.role == NamespaceRole::receiver || s.role == NamespaceRole::local_sink) &&
                   t.send) {
            ok = ok && s.ans_send_copy == t.answers;
            parts.push_back("sent in " + side + " " + format_bytes(s.ans_send_copy));
        }
    }
    if (t.shared_ns) why_not.push_back("one namespace carries both directions");
    if (t.far) why_not.push_back("the answers were sent outside this kernel");
    if (t.nic && !t.far && !c.in.tracer->local_sink)
        why_not.push_back("the sink's sockets were not counted apart");
    if (parts.empty())
        return log.skip(name, why_not.empty() ? "no direction measured apart" : why_not.front());
    std::string detail;
    for (size_t i = 0; i < parts.size(); ++i)
        detail += (i ? ", " : "") + parts[i];
    detail += "; answers " + format_bytes(t.answers);
    for (const auto& w : why_not)
        detail += "; not checked: " + w;
    log.add(name, ok, detail);
}

// What COPIED completions allow the deferred copy to be, given the pinned bytes.
bool deferred_matches(const ZerocopyStats& z, const Tally& t, uint64_t slack, std::string& detail) {
    const uint64_t deferred = t.deferred_total, pinned = t.pinned;
    if (pinned == 0) {
        detail += "; nothing pinned, so no deferred copy expected";
        return deferred == 0; // nothing pinned: COPIED means copied at send time
    }
    if (z.completions_copied == z.completions) {
        detail += "; all copied: deferred must be within 1% of pinned";
        const double diff = std::fabs(static_cast<double>(deferred) - pinned);
        return diff <= ledger_tolerance * pinned + slack;
    }
    if (z.completions_copied == 0) {
        detail += "; none copied: deferred must be 0";
        return deferred <= slack;
    }
    detail += "; some copied: deferred must be between 0 and pinned";
    return deferred > 0 && deferred <= pinned + slack;
}

void deferred_vs_notifications(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: deferred copy agrees with COPIED notifications";
    const Tally& t = c.tally;
    if (!t.deferred) return log.skip(name, t.deferred.reason());
    if (!t.send) return log.skip(name, t.send.reason());
    if (c.in.strategy != Strategy::zero_copy || !c.in.zerocopy)
        return log.add(name, t.deferred_total == 0,
                       "no zerocopy sends; deferred copy " + format_bytes(t.deferred_total) +
                           " (expected 0)");
    const ZerocopyStats& z = *c.in.zerocopy;
    if (z.completions == 0) return log.skip(name, "no zerocopy completions arrived");
    const uint64_t slack = t.retransmits ? t.total.retrans_bytes : 0;
    std::string detail = "deferred " + format_bytes(t.deferred_total) + " of pinned " +
                         format_bytes(t.pinned) + "; completions " +
                         std::to_string(z.completions_copied) + " of " +
                         std::to_string(z.completions) + " COPIED";
    const bool ok = deferred_matches(z, t, slack, detail);
    if (slack) detail += " (retransmits " + format_bytes(slack) + " allowed)";
    log.add(name, ok, detail);
}

void copies_per_byte_model(const CheckContext& c, CheckLog& log) {
    const std::string name = "ledger: copies per byte matches the strategy's model";
    const Ledger& L = c.ledger;
    const bool far = c.tally.far;
    // With the receiver outside this kernel, this host's share is what is checked.
    const std::optional<double> measured =
        L.copies_per_byte ? std::optional(*L.copies_per_byte) : L.this_host_copies_per_byte;
    if (!measured) return log.skip(name, L.copies_per_byte.reason());
    if (!L.copies_per_byte_expected)
        return log.skip(name, "model undefined (zero-copy cell without completions)");
    const double expected = *L.copies_per_byte_expected;
    log.add(name, within(*measured, expected, ledger_tolerance),
            std::string(far ? "this host: " : "") + "measured " + fixed(*measured, 3) +
                ", expected " + fixed(expected, 3) + " (" + std::string(to_string(c.in.strategy)) +
                (far ? ", receive copy outside this kernel" : "") + ", within 1%)");
}

void missed_events(const CheckContext& c, CheckLog& log) {
    if (!c.in.tracer) return;
    const uint64_t missed = c.in.tracer->missed_events;
    log.add("tracer: no kernel events missed", missed == 0,
            std::to_string(missed) +
                " BPF program runs skipped by the kernel (recursion protection)");
}

void kernel_completions(const CheckContext& c, CheckLog& log) {
    const Tally& t = c.tally;
    if (!c.in.tracer || c.in.strategy != Strategy::zero_copy || !c.in.zerocopy) return;
    if (!t.completions || *t.completions == HookMechanism::userspace) return;
    const ZerocopyStats& z = *c.in.zerocopy;
    const KernelCounts& k = t.total;
    log.add("ledger: kernel completions == runner completions",
            k.zc_completed_sends == z.completions && k.zc_completed_copied == z.completions_copied,
            "kernel " + std::to_string(k.zc_completed_sends) + " (" +
                std::to_string(k.zc_completed_copied) + " copied), runner " +
                std::to_string(z.completions) + " (" + std::to_string(z.completions_copied) +
                " copied)");
}

constexpr LedgerCheck all_checks[] = {
    receive_copy,          send_conservation, answer_copies,      deferred_vs_notifications,
    copies_per_byte_model, missed_events,     kernel_completions,
};

} // namespace

void CheckLog::add(std::string name, bool passed, std::string detail) {
    evaluated.push_back(Check{std::move(name), passed, std::move(detail)});
}

void CheckLog::skip(std::string name, std::string reason) {
    skipped.push_back(SkippedCheck{std::move(name), std::move(reason)});
}

std::span<const LedgerCheck> ledger_checks() {
    return all_checks;
}

CheckLog run_checks(const CheckContext& context) {
    CheckLog log;
    for (LedgerCheck check : ledger_checks())
        check(context, log);
    return log;
}

} // namespace copyscope
