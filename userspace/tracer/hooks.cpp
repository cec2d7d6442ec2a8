#include "tracer/hooks.h"

#include <algorithm>

#include "common/errors.h"

namespace copyscope {

HookMode parse_hook_mode(std::string_view text) {
    if (auto mode = hook_mode_from_string(text)) return *mode;
    throw UsageError("--hooks: unknown value '" + std::string(text) +
                     "'; allowed: auto, prefer-tracepoints, both");
}

// ---- the hook catalog --------------------------------------------------------------------

namespace {

using enum HookMechanism;
constexpr Evidence exact = Evidence::exact;
constexpr Evidence inferred_count = Evidence::inferred;

std::vector<HookForm> send_forms() {
    return {
        {fexit,
         false,
         exact,
         "tcp_sendmsg_locked's return value, split by its own zerocopy decision (MSG_ZEROCOPY, "
         "SOCK_ZEROCOPY or msg_ubuf, route NETIF_F_SG)",
         {{AttachKind::fexit, {"tcp_sendmsg_locked"}}},
         {"cs_send_fexit"},
         {}},
        {tp_btf,
         true,
         exact,
         "sock_send_length's return value, split by the zerocopy decision inputs seen at the "
         "tcp_sendmsg_locked tracepoint (6.16+) of the same task",
         {{AttachKind::tp_btf, {"tcp_sendmsg_locked"}}, {AttachKind::tp_btf, {"sock_send_length"}}},
         {"cs_send_tp_msg", "cs_send_tp_ret"},
         {}},
    };
}

std::vector<HookForm> pinned_page_forms() {
    return {
        {fexit,
         false,
         exact,
         "page references iov_iter_get_pages2 took inside skb_zerocopy_iter_stream, a page "
         "shared by consecutive calls of one send counted once",
         {{AttachKind::fentry, {"tcp_sendmsg_locked"}},
          {AttachKind::fentry, {"skb_zerocopy_iter_stream"}},
          {AttachKind::fexit, {"skb_zerocopy_iter_stream"}},
          {AttachKind::fexit, {"iov_iter_get_pages2"}}},
         {"cs_pin_send", "cs_pin_walk_entry", "cs_pin_walk_exit", "cs_pin_pages"},
         {}},
        {tp_btf,
         true,
         inferred_count,
         "user pages spanned by the bytes each MSG_ZEROCOPY send pinned, from the iovecs' "
         "addresses at the tcp_sendmsg_locked tracepoint: what the pin site would reference",
         {{AttachKind::tp_btf, {"tcp_sendmsg_locked"}}, {AttachKind::tp_btf, {"sock_send_length"}}},
         {"cs_send_tp_msg", "cs_send_tp_ret"},
         {}},
    };
}

std::vector<HookForm> deferred_forms() {
    return {
        {fexit,
         false,
         exact,
         "bytes in the fragments skb_copy_ubufs replaced, by caller: a transmit tap's clone "
         "(PACKET_OUTGOING), a TX timestamp (inside __skb_tstamp_tx), tun, a receive tap "
         "(tap listening on the device), else the receive path",
         {{AttachKind::fentry, {"skb_copy_ubufs"}},
          {AttachKind::fexit, {"skb_copy_ubufs"}},
          {AttachKind::fentry, {"__skb_tstamp_tx"}},
          {AttachKind::fexit, {"__skb_tstamp_tx"}}},
         {"cs_copy_ubufs_entry", "cs_deferred_fexit", "cs_tstamp_entry", "cs_tstamp_exit"},
         {},
         HookPurpose::run},
        {fexit,
         false,
         exact,
         "bytes in the fragments skb_copy_ubufs replaced, charged to the socket that sent them "
         "(its uarg, taken at fentry) and the namespace of the device the skb is on",
         {{AttachKind::fentry, {"skb_copy_ubufs"}}, {AttachKind::fexit, {"skb_copy_ubufs"}}},
         {"cs_trace_ubufs_entry", "cs_deferred_fexit"},
         {},
         HookPurpose::trace},
        {inferred,
         true,
         inferred_count,
         "zerocopy bytes received in a namespace (netif_receive_skb) minus those forwarded on "
         "(no socket at net_dev_start_xmit) and those dropped still flagged (kfree_skb): since "
         "6.17 zerocopy pages are copied at local delivery only. Taps and tun from the device "
         "at the tracepoints; TX timestamps not seen",
         {{AttachKind::tp_btf, {"netif_receive_skb"}},
          {AttachKind::tp_btf, {"net_dev_start_xmit"}},
          {AttachKind::tp_btf, {"kfree_skb"}}},
         {"cs_rx", "cs_xmit", "cs_drop"},
         {}},
    };
}

std::vector<HookForm> transmit_copy_forms() {
    return {
        {fexit,
         false,
         exact,
         "zerocopy bytes copied outside skb_copy_ubufs: skb_segment without NETIF_F_SG, "
         "__pskb_pull_tail (linearization), skb_copy/skb_copy_expand",
         {{AttachKind::fexit, {"skb_segment"}},
          {AttachKind::fentry, {"__pskb_pull_tail"}},
          {AttachKind::fexit, {"__pskb_pull_tail"}},
          {AttachKind::fexit, {"skb_copy"}},
          {AttachKind::fexit, {"skb_copy_expand"}}},
         {"cs_segment_exit", "cs_pull_entry", "cs_pull_exit", "cs_skb_copy_exit",
          "cs_skb_copy_expand_exit"},
         {}},
        {inferred,
         true,
         inferred_count,
         "payload of unflagged skbs of SO_ZEROCOPY sockets leaving a device without NETIF_F_SG "
         "(net_dev_start_xmit): copied before transmit, by segmentation or linearization; "
         "skb_copy not seen",
         {{AttachKind::tp_btf, {"net_dev_start_xmit"}}},
         {"cs_xmit"},
         {}},
    };
}

std::vector<HookForm> completion_forms() {
    return {
        {fentry,
         false,
         exact,
         "sends covered by a MSG_ZEROCOPY uarg and its final zerocopy bit, once, after its last "
         "reference went (__msg_zerocopy_callback)",
         {{AttachKind::fentry, {"__msg_zerocopy_callback"}}},
         {"cs_zc_done"},
         {}},
        {userspace,
         true,
         exact,
         "the runner's own MSG_ERRQUEUE reads (SO_EE_ORIGIN_ZEROCOPY ranges)",
         {},
         {},
         {},
         HookPurpose::run},
        {tp_btf,
         true,
         exact,
         "the traced program's own MSG_ERRQUEUE reads (recvmsg, recvmmsg), their "
         "SO_EE_ORIGIN_ZEROCOPY ranges read from its msghdr at the raw syscall exit tracepoint",
         {{AttachKind::tp_btf, {"sys_exit"}}},
         {"cs_trace_errqueue"},
         {},
         HookPurpose::trace},
    };
}

// sendfile's spliced bytes: 6.1-6.4 have do_tcp_sendpages (tcp_sendmsg_locked never sees
// them); from 6.5 they are tcp_sendmsg_locked's MSG_SPLICE_PAGES sends, counted by the send
// hook's own program in whichever form it takes.
std::vector<HookForm> splice_forms() {
    return {
        {fexit,
         false,
         exact,
         "do_tcp_sendpages' return value (6.1-6.4: sendfile reaches TCP one page at a time "
         "there, by reference; without NETIF_F_SG it copies through tcp_sendmsg_locked instead)",
         {{AttachKind::fexit, {"do_tcp_sendpages"}}},
         {"cs_splice_fexit"},
         {}},
        {fexit,
         false,
         exact,
         "6.5+: tcp_sendmsg_locked's return value for a msghdr with MSG_SPLICE_PAGES, by "
         "reference when the route has NETIF_F_SG, else a send copy (the send hook's program)",
         {{AttachKind::fexit, {"tcp_sendmsg_locked"}}},
         {"cs_send_fexit"},
         {}},
        {tp_btf,
         true,
         exact,
         "sock_send_length's return value for a send whose tcp_sendmsg_locked tracepoint "
         "(6.16+) saw MSG_SPLICE_PAGES, by reference when the route has NETIF_F_SG (the send "
         "hook's programs)",
         {{AttachKind::tp_btf, {"tcp_sendmsg_locked"}}, {AttachKind::tp_btf, {"sock_send_length"}}},
         {"cs_send_tp_msg", "cs_send_tp_ret"},
         {}},
    };
}

// io_uring SEND_ZC notifications as the kernel posts them: the io_uring_complete tracepoint
// (6.1+), for notification requests recorded when their send reached tcp_sendmsg_locked on
// a lab socket.
std::vector<HookForm> io_uring_notification_forms() {
    const char* note = "io_uring_complete CQEs with IORING_CQE_F_NOTIF, and those with "
                       "IORING_NOTIF_USAGE_ZC_COPIED, of the notification requests whose SEND_ZC "
                       "reached tcp_sendmsg_locked on a lab socket (msg_ubuf -> request)";
    return {
        {fexit,
         false,
         exact,
         note,
         {{AttachKind::fexit, {"tcp_sendmsg_locked"}}, {AttachKind::tp_btf, {"io_uring_complete"}}},
         {"cs_uring_note_fexit", "cs_uring_complete"},
         {}},
        {tp_btf,
         true,
         exact,
         note,
         {{AttachKind::tp_btf, {"tcp_sendmsg_locked"}},
          {AttachKind::tp_btf, {"io_uring_complete"}}},
         {"cs_uring_note_tp", "cs_uring_complete"},
         {}},
    };
}

// SEND_ZC notifications flagged COPIED only because stacked (6.10+: io_link_skb linked them
// into another notification's chain; no skb of their own, nothing copied). One form: the
// io_uring_complete tracepoint reads the notification's io_notif_data as io_notif_tw_complete
// left it. fentry io_notif_tw_complete would see the same fields once per chain, but takes
// its arguments by value in 7.x (struct io_tw_req) and would walk the chain; the tracepoint
// gives the same predicate per notification on every kernel. Before 6.10 io_notif_data has
// no head: nothing can be stacked and the count is an exact 0.
std::vector<HookForm> io_uring_stacked_forms() {
    return {{tp_btf,
             true,
             exact,
             "io_uring_complete of each SEND_ZC notification of a lab socket (joined to its "
             "send's CQE): flagged COPIED with zc_report, nd->head != nd, !zc_used and "
             "!zc_copied (io_notif_tw_complete's formula met by a linked notification)",
             {{AttachKind::tp_btf, {"io_uring_complete"}}},
             {"cs_uring_notif_class"},
             {},
             HookPurpose::run}};
}

// udp: sendmsg's bytes and those with MSG_ZEROCOPY.
std::vector<HookForm> udp_send_forms() {
    return {
        {fexit,
         false,
         exact,
         "udp_sendmsg's return value; MSG_ZEROCOPY from its msghdr",
         {{AttachKind::fexit, {"udp_sendmsg"}}},
         {"cs_udp_send_fexit"},
         {}},
        {tp_btf,
         true,
         inferred_count,
         "sock_send_length's return value on udp sockets (exact bytes); MSG_ZEROCOPY inferred "
         "from SO_ZEROCOPY on the socket (the tracepoint has no msghdr)",
         {{AttachKind::tp_btf, {"sock_send_length"}}},
         {"cs_udp_send_tp"},
         {}},
    };
}

// The copy is seen at skb_copy_datagram_iovec with only the skb's socket, which trace cannot
// give a cookie to: a socket in scope whose first use is a receive has its copies held until
// the recvmsg ends with the socket as an argument (fexit tcp_recvmsg, or sock_recv_length).
std::vector<HookForm> receive_forms() {
    const std::string copy = "len at skb_copy_datagram_iovec, the copy to the iovec, and whether "
                             "the skb still carried user pages";
    const Requirement at_copy{AttachKind::tp_btf, {"skb_copy_datagram_iovec"}};
    return {
        {tp_btf,
         false,
         exact,
         copy + "; a socket first seen receiving enters the table at fexit tcp_recvmsg",
         {at_copy, {AttachKind::fexit, {"tcp_recvmsg"}}},
         {"cs_recv", "cs_trace_recv_settle"},
         {},
         HookPurpose::trace},
        {tp_btf,
         true,
         exact,
         copy + "; a socket first seen receiving enters the table at sock_recv_length (6.3+)",
         {at_copy, {AttachKind::tp_btf, {"sock_recv_length"}}},
         {"cs_recv", "cs_trace_recv_len"},
         {},
         HookPurpose::trace},
        {tp_btf, true, exact, copy, {at_copy}, {"cs_recv"}, {}, HookPurpose::run},
    };
}

std::vector<HookForm> udp_receive_forms() {
    return {
        {fexit,
         false,
         exact,
         "udp_recvmsg's return value (skb_copy_datagram_iovec misses linear datagrams)",
         {{AttachKind::fexit, {"udp_recvmsg"}}},
         {"cs_udp_recv_fexit"},
         {}},
        {tp_btf,
         true,
         exact,
         "sock_recv_length's return value on udp sockets, one per datagram",
         {{AttachKind::tp_btf, {"sock_recv_length"}}},
         {"cs_udp_recv_tp"},
         {}},
    };
}

// run counts the lab's namespaces; trace needs the socket in its table before the first
// mapping, which tcp_rcv_space_adjust gives. That program fires on every TCP receive that
// read data, so only trace loads it.
std::vector<HookForm> receive_mapped_forms() {
    const std::string what = "the length of the kernel's own struct tcp_zerocopy_receive, read "
                             "by a cgroup getsockopt program after tcp_zerocopy_receive";
    return {{cgroup_sockopt,
             true,
             exact,
             what + ", on the scope's cgroup, or the root's for --pid and --netns; per socket, "
                    "which tcp_rcv_space_adjust puts in the table",
             {{AttachKind::tp_btf, {"tcp_rcv_space_adjust"}}},
             {"cs_zcrx_getsockopt", "cs_trace_rcv_claim"},
             {},
             HookPurpose::trace},
            {cgroup_sockopt,
             true,
             exact,
             what + ", on copyscope's cgroup",
             {},
             {"cs_zcrx_getsockopt"},
             {},
             HookPurpose::run}};
}

// A hook with one tracepoint form.
std::vector<HookForm> tracepoint_form(Evidence evidence, std::string note,
                                      std::vector<std::string> tracepoints,
                                      std::vector<std::string> programs) {
    std::vector<Requirement> needs;
    for (auto& tp : tracepoints)
        needs.push_back({AttachKind::tp_btf, {std::move(tp)}});
    return {{tp_btf, true, evidence, std::move(note), std::move(needs), std::move(programs), {}}};
}

} // namespace

const std::vector<HookSpec>& hook_catalog() {
    static const std::vector<HookSpec> catalog = {
        {hook_send, "send totals and the copy/pin/fallback split of every sendmsg", send_forms()},
        {hook_pinned_pages, "distinct user pages MSG_ZEROCOPY sends referenced",
         pinned_page_forms()},
        {hook_transmit, "zerocopy bytes leaving a device",
         tracepoint_form(exact,
                         "paged bytes of zerocopy skbs of a local socket at net_dev_start_xmit "
                         "(retransmits included)",
                         {"net_dev_start_xmit"}, {"cs_xmit"})},
        {hook_deferred, "zerocopy pages copied after the send (skb_copy_ubufs), by caller",
         deferred_forms()},
        {hook_transmit_copies, "zerocopy pages copied on the way out without skb_copy_ubufs",
         transmit_copy_forms()},
        {hook_delivery, "zerocopy skbs received, followed to TCP or a drop",
         tracepoint_form(exact,
                         "skbs flagged zerocopy at netif_receive_skb, their flag again at "
                         "tcp_probe (TCP's first look: skb_copy_ubufs clears it) or kfree_skb, "
                         "and tcp_probe's rcv_nxt for bytes received before",
                         {"netif_receive_skb", "tcp_probe", "kfree_skb"},
                         {"cs_rx", "cs_delivery", "cs_drop"})},
        {hook_receive, "bytes copied from skbs to the receiver", receive_forms()},
        {hook_retransmits, "bytes TCP sent again",
         tracepoint_form(exact,
                         "skb->len at tcp_retransmit_skb, attempts that failed left out (its "
                         "err argument, 6.17+; before, it fired only for successes)",
                         {"tcp_retransmit_skb"}, {"cs_retrans"})},
        {hook_completions, "MSG_ZEROCOPY completions and those flagged COPIED", completion_forms()},
        {hook_splice, "sendfile's page-cache pages sent by reference (spliced bytes)",
         splice_forms()},
        {hook_io_uring_notifications,
         "io_uring SEND_ZC notifications the kernel posted, and those flagged COPIED",
         io_uring_notification_forms()},
        {hook_io_uring_stacked,
         "io_uring SEND_ZC notifications flagged COPIED because stacked (6.10+)",
         io_uring_stacked_forms(), HookPurpose::run},
        {hook_udp_send, "udp sendmsg bytes, and those with MSG_ZEROCOPY", udp_send_forms()},
        {hook_udp_pinned, "udp bytes pinned at send, and MSG_ZEROCOPY bytes copied at send",
         tracepoint_form(exact,
                         "zerocopy skbs of udp sockets at net_dev_start_xmit: the ubuf_info's "
                         "zerocopy bit is each sendmsg's own decision (pinned: paged bytes)",
                         {"net_dev_start_xmit"}, {"cs_udp_xmit"})},
        {hook_udp_receive, "bytes copied to udp receivers", udp_receive_forms()},
        {hook_receive_mapped, "bytes TCP_ZEROCOPY_RECEIVE mapped instead of copying",
         receive_mapped_forms()},
        {hook_udp,
         "UDP: bytes sent and bytes copied to the reader (trace)",
         {{tp_btf,
           true,
           exact,
           "sock_send_length's and sock_recv_length's byte counts on UDP sockets (6.3+); the "
           "send split is not classified",
           {{AttachKind::tp_btf, {"sock_send_length"}}, {AttachKind::tp_btf, {"sock_recv_length"}}},
           {"cs_trace_udp_send", "cs_trace_recv_len"},
           {}}},
         HookPurpose::trace},
        {hook_socket_close, "TCP sockets reaching TCP_CLOSE (trace)",
         tracepoint_form(exact, "inet_sock_set_state with TCP_CLOSE", {"inet_sock_set_state"},
                         {"cs_trace_close"}),
         HookPurpose::trace},
        {hook_process_follow,
         "children of traced processes (trace --pid)",
         {{tp_btf,
           true,
           exact,
           "sched_process_fork adds a traced parent's child, sched_process_exit removes a leader",
           {{AttachKind::tp_btf, {"sched_process_fork"}},
            {AttachKind::tp_btf, {"sched_process_exit"}}},
           {"cs_trace_fork", "cs_trace_exit"},
           {}}},
         HookPurpose::trace},
    };
    return catalog;
}

// ---- choosing ------------------------------------------------------------------------------

ResolvedForm resolve(const HookForm& form, const KernelFeatures& features) {
    ResolvedForm r;
    r.available = true;
    for (const auto& need : form.needs) {
        std::string found;
        std::string why;
        for (const auto& name : need.names) {
            const ProbeResult& p = features.probe(need.kind, name);
            if (p.ok) {
                found = name;
                break;
            }
            why += (why.empty() ? "" : "; ") + std::string(to_string(need.kind)) + " " + name +
                   ": " + p.reason;
        }
        if (found.empty()) {
            r.available = false;
            r.reason += (r.reason.empty() ? "" : "; ") + why;
        } else if (std::find(r.targets.begin(), r.targets.end(), found) == r.targets.end()) {
            r.targets.push_back(found);
        }
    }
    if (form.mechanism == HookMechanism::userspace) r.targets = {"MSG_ERRQUEUE (runner)"};
    if (form.mechanism == HookMechanism::cgroup_sockopt) {
        r.targets = {"cgroup/getsockopt"};
        if (!features.cgroup_getsockopt.ok) {
            r.available = false;
            r.reason = features.cgroup_getsockopt.reason;
        }
    }
    return r;
}

namespace {

// Takes `form` for `use` and adds what it loads to the plan.
void take(HookPlan& plan, HookUse& use, const HookForm& form, const ResolvedForm& r) {
    use.form =
        Measured<HookChoice>(HookChoice{form.mechanism, r.targets, form.note}, form.evidence);
    for (const std::string& p : form.programs)
        if (std::find(plan.programs.begin(), plan.programs.end(), p) == plan.programs.end())
            plan.programs.push_back(p);
    if (!form.retargeted_program.empty())
        plan.attach_targets[form.retargeted_program] = r.targets.front();
}

} // namespace

namespace {

// One form per hook for a mode that takes a single form (auto, prefer-tracepoints), among
// the hooks and forms of `purpose`.
HookPlan plan_one(const KernelFeatures& features, HookMode mode, HookPurpose purpose) {
    const auto serves = [purpose](HookPurpose p) { return p == HookPurpose::both || p == purpose; };
    HookPlan plan;
    plan.mode = mode;
    for (const auto& hook : hook_catalog()) {
        if (!serves(hook.purpose)) continue;
        HookUse use{hook.name, Unsupported{""}};
        std::string reasons;
        bool chosen = false;
        for (const auto& form : hook.forms) {
            if (!serves(form.purpose)) continue;
            if (mode == HookMode::prefer_tracepoints && !form.tracepoint_path) {
                reasons += (reasons.empty() ? "" : "; ") + std::string(to_string(form.mechanism)) +
                           ": skipped (--hooks prefer-tracepoints)";
                continue;
            }
            ResolvedForm r = resolve(form, features);
            if (!r.available) {
                reasons += (reasons.empty() ? "" : "; ") + r.reason;
                continue;
            }
            take(plan, use, form, r);
            chosen = true;
            break;
        }
        if (!chosen) use.form = Unsupported{"no usable form: " + reasons};
        plan.uses.push_back(use);
    }
    return plan;
}

bool has(const std::vector<std::string>& programs, const char* name) {
    return std::find(programs.begin(), programs.end(), name) != programs.end();
}

} // namespace

HookPlan plan_hooks(const KernelFeatures& features, HookMode mode, HookPurpose purpose) {
    HookPlan plan =
        plan_one(features, mode == HookMode::both ? HookMode::automatic : mode, purpose);
    plan.mode = mode;
    if (mode == HookMode::both) {
        HookPlan tp = plan_one(features, HookMode::prefer_tracepoints, purpose);
        plan.tracepoint_uses = tp.uses;
        for (const std::string& p : tp.programs)
            if (!has(plan.programs, p.c_str())) plan.programs.push_back(p);
        for (const auto& [prog, target] : tp.attach_targets)
            plan.attach_targets.emplace(prog, target);
    }
    // Both forms of the send hook loaded (--hooks both, or the pinned pages' tracepoint form
    // beside an exact send): the tracepoint form counts apart.
    plan.send_forms_apart =
        has(plan.programs, "cs_send_fexit") && has(plan.programs, "cs_send_tp_ret");
    return plan;
}

} // namespace copyscope
