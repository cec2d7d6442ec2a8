// Hook selection and the doctor table on synthetic kernels (no root, no BPF).
#include <algorithm>

#include <gtest/gtest.h>

#include "common/errors.h"
#include "tracer/bpf_tracer.h"
#include "tracer/hooks.h"
#include "tracer/tracer.h"

namespace copyscope {
namespace {

// A kernel where every probe gives `ok` (with `reason` when not).
KernelFeatures kernel_where(bool fentry_ok, bool tp_ok, const std::string& reason = "load: EPERM") {
    KernelFeatures f;
    f.release = "synthetic";
    f.btf = true;
    f.bpf.ok = true;
    for (const auto& hook : hook_catalog())
        for (const auto& form : hook.forms)
            for (const auto& need : form.needs)
                for (const auto& name : need.names) {
                    bool ok = need.kind == AttachKind::tp_btf ? tp_ok : fentry_ok;
                    ProbeResult p{ok, ok ? "" : reason};
                    (need.kind == AttachKind::fentry  ? f.fentry
                     : need.kind == AttachKind::fexit ? f.fexit
                                                      : f.tp_btf)[name] = p;
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

std::string completion_target(const HookPlan& plan) {
    auto it = plan.attach_targets.find("cs_zc_complete");
    return it == plan.attach_targets.end() ? "" : it->second;
}

TEST(HookMode, Parses) {
    EXPECT_EQ(parse_hook_mode("auto"), HookMode::automatic);
    EXPECT_EQ(parse_hook_mode("prefer-tracepoints"), HookMode::prefer_tracepoints);
    EXPECT_EQ(to_string(HookMode::automatic), "auto");
    EXPECT_EQ(to_string(HookMode::prefer_tracepoints), "prefer-tracepoints");
}

TEST(HookMode, BadValueNamesItAndTheAllowedOnes) {
    try {
        parse_hook_mode("kprobes");
        FAIL() << "no UsageError";
    } catch (const UsageError& e) {
        EXPECT_STREQ(e.what(),
                     "--hooks: unknown value 'kprobes'; allowed: auto, prefer-tracepoints");
    }
    EXPECT_THROW(parse_hook_mode(""), UsageError);
    EXPECT_THROW(parse_hook_mode("AUTO"), UsageError);
}

TEST(HookPlan, StockKernelTakesPreferredForms) {
    HookPlan plan = plan_hooks(kernel_where(true, true), HookMode::automatic);
    EXPECT_EQ(use_of(plan, hook_send).mechanism, "fexit");
    EXPECT_EQ(use_of(plan, hook_deferred).mechanism, "fexit");
    EXPECT_TRUE(use_of(plan, hook_deferred).exact);
    EXPECT_EQ(use_of(plan, hook_completions).mechanism, "fentry");
    EXPECT_EQ(completion_target(plan), "msg_zerocopy_complete");
    EXPECT_EQ(use_of(plan, hook_receive).mechanism, "tp_btf");
    EXPECT_TRUE(loads(plan, "cs_send_fexit"));
    EXPECT_TRUE(loads(plan, "cs_deferred_fexit"));
    EXPECT_TRUE(loads(plan, "cs_zc_complete"));
    EXPECT_TRUE(loads(plan, "cs_xmit")); // pinned pages
    EXPECT_FALSE(loads(plan, "cs_send_tp_msg"));
    EXPECT_FALSE(loads(plan, "cs_send_tp_ret"));
    EXPECT_FALSE(loads(plan, "cs_rx")); // only the inferred deferred form needs it
}

TEST(HookPlan, PreferTracepointsNeverTakesFentryOrFexit) {
    HookPlan plan = plan_hooks(kernel_where(true, true), HookMode::prefer_tracepoints);
    for (const auto& u : plan.uses) {
        EXPECT_TRUE(u.unsupported.empty()) << u.hook;
        EXPECT_NE(u.mechanism, "fexit") << u.hook;
        EXPECT_NE(u.mechanism, "fentry") << u.hook;
    }
    EXPECT_EQ(use_of(plan, hook_send).mechanism, "tp_btf");
    EXPECT_EQ(use_of(plan, hook_deferred).mechanism, "inferred");
    EXPECT_FALSE(use_of(plan, hook_deferred).exact);
    EXPECT_EQ(use_of(plan, hook_completions).mechanism, "userspace");
    EXPECT_FALSE(loads(plan, "cs_send_fexit"));
    EXPECT_FALSE(loads(plan, "cs_zc_complete"));
    EXPECT_TRUE(loads(plan, "cs_rx"));
    EXPECT_TRUE(loads(plan, "cs_send_tp_msg"));
    EXPECT_TRUE(plan.attach_targets.empty());
}

TEST(HookPlan, ThisVmFallsBackWhereFentryIsRefused) {
    HookPlan plan = plan_hooks(kernel_where(false, true), HookMode::automatic);
    EXPECT_EQ(use_of(plan, hook_send).mechanism, "tp_btf");
    EXPECT_EQ(use_of(plan, hook_send).targets,
              (std::vector<std::string>{"tcp_sendmsg_locked", "sock_send_length"}));
    EXPECT_EQ(use_of(plan, hook_deferred).mechanism, "inferred");
    EXPECT_EQ(use_of(plan, hook_completions).mechanism, "userspace");
}

TEST(HookPlan, OldKernelCompletionTargetIsRenamed) {
    KernelFeatures f = kernel_where(true, true);
    f.fentry["msg_zerocopy_complete"] = {false, "function msg_zerocopy_complete not in kernel BTF"};
    HookPlan plan = plan_hooks(f, HookMode::automatic);
    EXPECT_EQ(use_of(plan, hook_completions).mechanism, "fentry");
    EXPECT_EQ(completion_target(plan), "msg_zerocopy_callback");
    EXPECT_EQ(use_of(plan, hook_completions).targets,
              std::vector<std::string>{"msg_zerocopy_callback"});
}

TEST(HookPlan, OldKernelWithoutSendTracepointUsesFexitOrSaysWhy) {
    KernelFeatures f = kernel_where(false, true);
    f.tp_btf["tcp_sendmsg_locked"] = {false, "tracepoint tcp_sendmsg_locked not in kernel BTF"};
    HookPlan plan = plan_hooks(f, HookMode::automatic);
    const HookUse& send = use_of(plan, hook_send);
    EXPECT_EQ(send.mechanism, "");
    EXPECT_NE(send.unsupported.find("fexit tcp_sendmsg_locked: load: EPERM"), std::string::npos)
        << send.unsupported;
    EXPECT_NE(send.unsupported.find("tracepoint tcp_sendmsg_locked not in kernel BTF"),
              std::string::npos)
        << send.unsupported;
    EXPECT_FALSE(loads(plan, "cs_send_tp_ret")); // a half form is never loaded
    f.fexit["tcp_sendmsg_locked"] = {true, ""};
    EXPECT_EQ(use_of(plan_hooks(f, HookMode::automatic), hook_send).mechanism, "fexit");
}

TEST(HookPlan, NothingAttachableLeavesOnlyUserspaceCompletions) {
    HookPlan plan = plan_hooks(kernel_where(false, false, "load: Operation not permitted"),
                               HookMode::automatic);
    EXPECT_TRUE(plan.programs.empty());
    for (const auto& u : plan.uses) {
        if (u.hook == hook_completions) {
            EXPECT_EQ(u.mechanism, "userspace");
            continue;
        }
        EXPECT_NE(u.unsupported.find("Operation not permitted"), std::string::npos) << u.hook;
    }
}

TEST(Doctor, RendersEveryHookAndWhyNot) {
    nlohmann::json d = {
        {"kernel_release", "6.18.0-test"},
        {"btf", {{"present", true}, {"detail", "/sys/kernel/btf/vmlinux"}}},
        {"lockdown", "integrity"},
        {"tracefs", "mounted at /sys/kernel/tracing"},
        {"kprobes", false},
        {"bpf", {{"can_load", true}, {"reason", ""}}},
        {"hooks",
         {{{"hook", "send"},
           {"what", "send totals"},
           {"forms",
            {{{"mechanism", "fexit"},
              {"targets", {"tcp_sendmsg_locked"}},
              {"count", "exact"},
              {"available", false},
              {"reason", "fexit tcp_sendmsg_locked: load: Operation not permitted"}},
             {{"mechanism", "tp_btf"},
              {"targets", {"tcp_sendmsg_locked", "sock_send_length"}},
              {"count", "exact"},
              {"available", true}}}},
           {"chosen", {{"auto", "tp_btf"}, {"prefer-tracepoints", "tp_btf"}}}},
          {{"hook", "retransmits"},
           {"what", "retransmits"},
           {"forms",
            {{{"mechanism", "tp_btf"},
              {"targets", {"tcp_retransmit_skb"}},
              {"count", "exact"},
              {"available", false},
              {"reason", "tracepoint tcp_retransmit_skb not in kernel BTF"}}}},
           {"chosen",
            {{"auto", {{"unsupported", "no usable form: tracepoint missing"}}},
             {"prefer-tracepoints", {{"unsupported", "no usable form: tracepoint missing"}}}}}}}}};
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

TEST(Doctor, RealKernelJsonHasEveryHook) {
    // Runs unprivileged too: probes then fail with a reason, never crash.
    nlohmann::json d = tracer_doctor();
    EXPECT_FALSE(d["kernel_release"].get<std::string>().empty());
    ASSERT_EQ(d["hooks"].size(), hook_catalog().size());
    for (const auto& h : d["hooks"]) {
        for (const auto& f : h["forms"]) {
            if (!f["available"].get<bool>()) {
                EXPECT_FALSE(f["reason"].get<std::string>().empty()) << h["hook"];
            }
        }
        EXPECT_TRUE(h["chosen"].contains("auto"));
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
