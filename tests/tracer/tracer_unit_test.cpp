// Hook selection and the doctor table on synthetic kernels (no root, no BPF).
#include <algorithm>

#include <gtest/gtest.h>

#include "common/errors.h"
#include "tracer/bpf_tracer.h"
#include "tracer/doctor.h"
#include "tracer/hooks.h"

namespace copyscope {
namespace {

// A kernel where every probe gives `ok` (with `reason` when not).
KernelFeatures kernel_where(bool fentry_ok, bool tp_ok, const std::string& reason = "load: EPERM") {
    KernelFeatures f;
    f.release = "synthetic";
    f.btf = true;
    f.bpf.ok = true;
    // The cgroup getsockopt program stands with the tracepoints: it needs no fentry.
    f.cgroup_getsockopt = ProbeResult{tp_ok, tp_ok ? "" : reason};
    for (const auto& hook : hook_catalog())
        for (const auto& form : hook.forms)
            for (const auto& need : form.needs)
                for (const auto& name : need.names) {
                    bool ok = need.kind == AttachKind::tp_btf ? tp_ok : fentry_ok;
                    ProbeResult p{ok, ok ? "" : reason};
                    f.probes(need.kind)[name] = p;
                }
    return f;
}

const HookUse& use_of(const HookPlan& plan, const std::string& hook) {
    auto it = std::find_if(plan.uses.begin(), plan.uses.end(),
                           [&](const HookUse& u) { return u.hook == hook; });
    EXPECT_NE(it, plan.uses.end()) << hook;
    return *it;
}

bool loads(const HookPlan& plan, const std::string& program) {
    return std::find(plan.programs.begin(), plan.programs.end(), program) != plan.programs.end();
}

HookMechanism mechanism(const HookPlan& plan, const std::string& hook) {
    const HookUse& u = use_of(plan, hook);
    EXPECT_TRUE(u.form) << hook << ": " << u.form.reason();
    return u.form ? u.form->mechanism : HookMechanism::userspace;
}

TEST(HookMode, Parses) {
    EXPECT_EQ(parse_hook_mode("auto"), HookMode::automatic);
    EXPECT_EQ(parse_hook_mode("prefer-tracepoints"), HookMode::prefer_tracepoints);
    EXPECT_EQ(parse_hook_mode("both"), HookMode::both);
    EXPECT_EQ(to_string(HookMode::automatic), "auto");
    EXPECT_EQ(to_string(HookMode::prefer_tracepoints), "prefer-tracepoints");
    EXPECT_EQ(to_string(HookMode::both), "both");
}

TEST(HookMode, BadValueNamesItAndTheAllowedOnes) {
    try {
        parse_hook_mode("kprobes");
        FAIL() << "no UsageError";
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(),
                     "--hooks: unknown value 'kprobes'; allowed: auto, prefer-tracepoints, both");
    }
    EXPECT_THROW(parse_hook_mode(""), UsageError);
    EXPECT_THROW(parse_hook_mode("AUTO"), UsageError);
}

TEST(HookPlan, StockKernelTakesPreferredForms) {
    HookPlan plan = plan_hooks(kernel_where(true, true), HookMode::automatic);
    EXPECT_EQ(mechanism(plan, hook_send), HookMechanism::fexit);
    EXPECT_EQ(mechanism(plan, hook_deferred), HookMechanism::fexit);
    EXPECT_EQ(use_of(plan, hook_deferred).form.evidence(), Evidence::exact);
    EXPECT_EQ(mechanism(plan, hook_completions), HookMechanism::fentry);
    EXPECT_EQ(use_of(plan, hook_completions).form->targets,
              std::vector<std::string>{"__msg_zerocopy_callback"});
    EXPECT_EQ(use_of(plan, hook_completions).form.evidence(), Evidence::exact);
    EXPECT_EQ(mechanism(plan, hook_pinned_pages), HookMechanism::fexit);
    EXPECT_EQ(use_of(plan, hook_pinned_pages).form.evidence(), Evidence::exact);
    EXPECT_EQ(mechanism(plan, hook_transmit_copies), HookMechanism::fexit);
    EXPECT_EQ(mechanism(plan, hook_receive), HookMechanism::tp_btf);
    EXPECT_EQ(mechanism(plan, hook_delivery), HookMechanism::tp_btf);
    EXPECT_TRUE(loads(plan, "cs_send_fexit"));
    EXPECT_TRUE(loads(plan, "cs_deferred_fexit"));
    EXPECT_TRUE(loads(plan, "cs_copy_ubufs_entry"));
    EXPECT_TRUE(loads(plan, "cs_zc_done"));
    EXPECT_TRUE(loads(plan, "cs_pin_pages"));
    EXPECT_TRUE(loads(plan, "cs_segment_exit"));
    EXPECT_TRUE(loads(plan, "cs_xmit")); // zerocopy bytes transmitted
    EXPECT_TRUE(loads(plan, "cs_rx"));   // delivery: what became of received zerocopy skbs
    EXPECT_FALSE(loads(plan, "cs_send_tp_msg"));
    EXPECT_FALSE(loads(plan, "cs_send_tp_ret"));
    EXPECT_FALSE(plan.send_forms_apart);
    EXPECT_FALSE(plan.tracepoint_uses);
}

// --hooks both: the preferred forms make the ledger, the tracepoint forms a second one, from
// programs loaded side by side; the send hook's two forms then count apart.
TEST(HookPlan, BothLoadsEachHooksTwoForms) {
    HookPlan plan = plan_hooks(kernel_where(true, true), HookMode::both);
    EXPECT_EQ(plan.mode, HookMode::both);
    EXPECT_EQ(mechanism(plan, hook_send), HookMechanism::fexit);
    EXPECT_EQ(mechanism(plan, hook_deferred), HookMechanism::fexit);
    ASSERT_TRUE(plan.tracepoint_uses);
    HookPlan tp = plan;
    tp.uses = *plan.tracepoint_uses;
    EXPECT_EQ(mechanism(tp, hook_send), HookMechanism::tp_btf);
    EXPECT_EQ(mechanism(tp, hook_deferred), HookMechanism::inferred);
    EXPECT_EQ(mechanism(tp, hook_pinned_pages), HookMechanism::tp_btf);
    EXPECT_EQ(mechanism(tp, hook_completions), HookMechanism::userspace);
    for (const char* p : {"cs_send_fexit", "cs_send_tp_msg", "cs_send_tp_ret", "cs_deferred_fexit",
                          "cs_drop", "cs_pin_pages", "cs_zc_done"})
        EXPECT_TRUE(loads(plan, p)) << p;
    EXPECT_TRUE(plan.send_forms_apart);
}

// The pinned pages' tracepoint form needs the send hook's tracepoint programs: beside an
// exact send hook they count apart, never twice into the same counters.
TEST(HookPlan, SendFormsCountApartWhenBothAreLoaded) {
    KernelFeatures f = kernel_where(true, true);
    f.fexit["iov_iter_get_pages2"] = {false, "function iov_iter_get_pages2 not in kernel BTF"};
    HookPlan plan = plan_hooks(f, HookMode::automatic);
    EXPECT_EQ(mechanism(plan, hook_send), HookMechanism::fexit);
    EXPECT_EQ(mechanism(plan, hook_pinned_pages), HookMechanism::tp_btf);
    EXPECT_EQ(use_of(plan, hook_pinned_pages).form.evidence(), Evidence::inferred);
    EXPECT_TRUE(loads(plan, "cs_send_fexit"));
    EXPECT_TRUE(loads(plan, "cs_send_tp_ret"));
    EXPECT_TRUE(plan.send_forms_apart);
}

TEST(HookPlan, PreferTracepointsNeverTakesFentryOrFexit) {
    HookPlan plan = plan_hooks(kernel_where(true, true), HookMode::prefer_tracepoints);
    for (const auto& u : plan.uses) {
        ASSERT_TRUE(u.form) << u.hook << ": " << u.form.reason();
        EXPECT_NE(u.form->mechanism, HookMechanism::fexit) << u.hook;
        EXPECT_NE(u.form->mechanism, HookMechanism::fentry) << u.hook;
    }
    EXPECT_EQ(mechanism(plan, hook_send), HookMechanism::tp_btf);
    EXPECT_EQ(mechanism(plan, hook_deferred), HookMechanism::inferred);
    EXPECT_EQ(use_of(plan, hook_deferred).form.evidence(), Evidence::inferred);
    EXPECT_EQ(mechanism(plan, hook_completions), HookMechanism::userspace);
    EXPECT_EQ(mechanism(plan, hook_pinned_pages), HookMechanism::tp_btf);
    EXPECT_EQ(use_of(plan, hook_pinned_pages).form.evidence(), Evidence::inferred);
    EXPECT_EQ(mechanism(plan, hook_transmit_copies), HookMechanism::inferred);
    EXPECT_FALSE(loads(plan, "cs_send_fexit"));
    EXPECT_FALSE(loads(plan, "cs_zc_done"));
    EXPECT_TRUE(loads(plan, "cs_rx"));
    EXPECT_TRUE(loads(plan, "cs_send_tp_msg"));
    EXPECT_TRUE(plan.attach_targets.empty());
}

TEST(HookPlan, ThisVmFallsBackWhereFentryIsRefused) {
    HookPlan plan = plan_hooks(kernel_where(false, true), HookMode::automatic);
    EXPECT_EQ(mechanism(plan, hook_send), HookMechanism::tp_btf);
    EXPECT_EQ(use_of(plan, hook_send).form->targets,
              (std::vector<std::string>{"tcp_sendmsg_locked", "sock_send_length"}));
    EXPECT_EQ(mechanism(plan, hook_deferred), HookMechanism::inferred);
    EXPECT_EQ(mechanism(plan, hook_completions), HookMechanism::userspace);
}

// Debian 7.2 inlines __msg_zerocopy_callback (not in its BTF), and with it its first call
// mm_unaccount_pinned_pages (an fentry there attached but never ran): the runner's own
// error-queue reads count the completions.
TEST(HookPlan, InlinedCompletionCallbackFallsBackToTheRunnersReads) {
    KernelFeatures f = kernel_where(true, true);
    f.fentry["__msg_zerocopy_callback"] = {false,
                                           "function __msg_zerocopy_callback not in kernel BTF"};
    HookPlan plan = plan_hooks(f, HookMode::automatic);
    EXPECT_EQ(mechanism(plan, hook_completions), HookMechanism::userspace);
    EXPECT_FALSE(loads(plan, "cs_zc_done"));
}

TEST(HookPlan, OldKernelWithoutSendTracepointUsesFexitOrSaysWhy) {
    KernelFeatures f = kernel_where(false, true);
    f.tp_btf["tcp_sendmsg_locked"] = {false, "tracepoint tcp_sendmsg_locked not in kernel BTF"};
    HookPlan plan = plan_hooks(f, HookMode::automatic);
    const HookUse& send = use_of(plan, hook_send);
    EXPECT_FALSE(send.form);
    EXPECT_NE(send.form.reason().find("fexit tcp_sendmsg_locked: load: EPERM"), std::string::npos)
        << send.form.reason();
    EXPECT_NE(send.form.reason().find("tracepoint tcp_sendmsg_locked not in kernel BTF"),
              std::string::npos)
        << send.form.reason();
    EXPECT_FALSE(loads(plan, "cs_send_tp_ret")); // a half form is never loaded
    f.fexit["tcp_sendmsg_locked"] = {true, ""};
    EXPECT_EQ(mechanism(plan_hooks(f, HookMode::automatic), hook_send), HookMechanism::fexit);
}

TEST(HookPlan, NothingAttachableLeavesOnlyUserspaceCompletions) {
    HookPlan plan = plan_hooks(kernel_where(false, false, "load: Operation not permitted"),
                               HookMode::automatic);
    EXPECT_TRUE(plan.programs.empty());
    for (const auto& u : plan.uses) {
        if (u.hook == hook_completions) {
            ASSERT_TRUE(u.form);
            EXPECT_EQ(u.form->mechanism, HookMechanism::userspace);
            continue;
        }
        EXPECT_FALSE(u.form) << u.hook;
        EXPECT_NE(u.form.reason().find("Operation not permitted"), std::string::npos) << u.hook;
    }
}

TEST(Doctor, RendersEveryHookAndWhyNot) {
    TracerDoctor d;
    d.kernel.release = "6.18.0-test";
    d.kernel.btf = true;
    d.kernel.btf_detail = "/sys/kernel/btf/vmlinux";
    d.kernel.lockdown = "integrity";
    d.kernel.tracefs = "mounted at /sys/kernel/tracing";
    d.kernel.kprobes = false;
    d.kernel.bpf = {true, ""};
    DoctorHook send{"send", "send totals", {}, HookMechanism::tp_btf, HookMechanism::tp_btf};
    send.forms.push_back({HookMechanism::fexit,
                          {"tcp_sendmsg_locked"},
                          Evidence::exact,
                          false,
                          "",
                          "fexit tcp_sendmsg_locked: load: Operation not permitted"});
    send.forms.push_back({HookMechanism::tp_btf,
                          {"tcp_sendmsg_locked", "sock_send_length"},
                          Evidence::exact,
                          true,
                          "",
                          ""});
    DoctorHook retrans{"retransmits",
                       "retransmits",
                       {},
                       Unsupported{"no usable form: tracepoint missing"},
                       Unsupported{"no usable form: tracepoint missing"}};
    retrans.forms.push_back({HookMechanism::tp_btf,
                             {"tcp_retransmit_skb"},
                             Evidence::exact,
                             false,
                             "",
                             "tracepoint tcp_retransmit_skb not in kernel BTF"});
    d.hooks = {send, retrans};
    std::string t = render_tracer_doctor(d);
    EXPECT_NE(t.find("kernel     6.18.0-test"), std::string::npos) << t;
    EXPECT_NE(t.find("lockdown   integrity"), std::string::npos) << t;
    EXPECT_NE(t.find("why not: fexit tcp_sendmsg_locked: load: Operation not permitted"),
              std::string::npos)
        << t;
    EXPECT_NE(t.find("tcp_sendmsg_locked, sock_send_length"), std::string::npos) << t;
    EXPECT_NE(t.find("auto, prefer-tracepoints"), std::string::npos) << t;
    EXPECT_NE(t.find("--hooks auto: unsupported: no usable form: tracepoint missing"),
              std::string::npos)
        << t;
}

TEST(Doctor, RealKernelHasEveryHook) {
    // Runs unprivileged too: probes then fail with a reason, never crash.
    TracerDoctor d = tracer_doctor();
    EXPECT_FALSE(d.kernel.release.empty());
    ASSERT_EQ(d.hooks.size(), hook_catalog().size());
    for (const auto& h : d.hooks) {
        for (const auto& f : h.forms) {
            if (!f.available) {
                EXPECT_FALSE(f.reason.empty()) << h.hook;
            }
        }
        for (const Measured<HookMechanism>* chosen : {&h.chosen_auto, &h.chosen_tracepoints}) {
            if (!*chosen) {
                EXPECT_FALSE(chosen->reason().empty()) << h.hook;
            }
        }
    }
    EXPECT_FALSE(render_tracer_doctor(d).empty());
}

// Hook forms name their programs; the object must have each, and nothing unnamed.
TEST(Programs, CatalogNamesEveryProgramOfTheObject) {
    const std::vector<std::string> in_object = bpf_program_names();
    std::vector<std::string> named;
    for (const auto& hook : hook_catalog())
        for (const auto& form : hook.forms) {
            for (const auto& p : form.programs) {
                EXPECT_NE(std::find(in_object.begin(), in_object.end(), p), in_object.end())
                    << hook.name << ": " << p << " is not in bpf/copyscope.bpf.c";
                named.push_back(p);
            }
            if (!form.retargeted_program.empty()) {
                EXPECT_NE(
                    std::find(form.programs.begin(), form.programs.end(), form.retargeted_program),
                    form.programs.end())
                    << form.retargeted_program;
            }
        }
    for (const auto& p : in_object)
        EXPECT_NE(std::find(named.begin(), named.end(), p), named.end())
            << p << " is loaded by no hook form";
}

} // namespace
} // namespace copyscope
