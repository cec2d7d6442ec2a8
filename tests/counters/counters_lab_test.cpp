// Lab tests: real cells, real perf events. Root only.
#include <gtest/gtest.h>

#include "counters/counters.h"
#include "counters/summary.h"
#include "lab/lab.h"
#include "report/counters_json.h"
#include "runner/runner.h"

#include <chrono>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

using namespace copyscope;

namespace {

#define REQUIRE_ROOT()                                                                             \
    do {                                                                                           \
        if (geteuid() != 0) GTEST_SKIP() << "lab tests need root";                                 \
    } while (0)

CellSpec small_cell() {
    CellSpec spec;
    spec.strategy = Strategy::one_copy;
    spec.transport = Transport::veth;
    spec.message_size = 65536;
    spec.bytes = 64ull << 20;
    return spec;
}

// Every event entry is either a counted value or a reason, never both, never a bare 0.
void expect_value_or_reason(const nlohmann::json& events, const std::string& where) {
    ASSERT_TRUE(events.is_object()) << where;
    for (const auto& [name, e] : events.items()) {
        const bool has_value = e.contains("value");
        const bool has_reason = e.contains("unsupported");
        EXPECT_NE(has_value, has_reason) << where << " " << name << ": " << e.dump();
        if (has_reason) {
            EXPECT_FALSE(e["unsupported"].get<std::string>().empty()) << name;
        }
        if (has_value) {
            EXPECT_TRUE(e["value"].is_number()) << name;
        }
    }
}

double value(const nlohmann::json& events, const char* name) {
    const auto& e = events.at(name);
    EXPECT_TRUE(e.contains("value")) << name << ": " << e.dump();
    return e.value("value", 0.0);
}

// The counters as the report writes them.
nlohmann::json counters_json(const CellResult& r) {
    return r.counters ? to_json(*r.counters) : nlohmann::json(nullptr);
}

} // namespace

TEST(CountersLab, RealCellHasTaskClockAndContextSwitchesForBothRoles) {
    REQUIRE_ROOT();
    auto observer = make_counters(CounterOptions{});
    const CellResult result = run_cell(small_cell(), {observer.get()});
    ASSERT_TRUE(result.error.empty()) << result.error;
    const nlohmann::json c = counters_json(result);
    ASSERT_TRUE(c.is_object()) << c.dump();
    for (const char* role : {"sender", "receiver"}) {
        const auto& r = c["thread"][role];
        ASSERT_TRUE(r.contains("events")) << role << ": " << r.dump();
        EXPECT_GE(r["threads"].get<unsigned>(), 1u);
        EXPECT_GT(value(r["events"], "task-clock"), 0) << role;
        EXPECT_GT(value(r["events"], "context-switches"), 0) << role;
        expect_value_or_reason(r["events"], role);
    }
    ASSERT_TRUE(c["system"].contains("events")) << c["system"].dump();
    EXPECT_GT(value(c["system"]["events"], "task-clock"), 0);
    EXPECT_GT(value(c["system"]["events"], "context-switches"), 0);
    expect_value_or_reason(c["system"]["events"], "system");
    EXPECT_GT(c["derived"]["thread"]["cpu_seconds_per_gib"].get<double>(), 0);
    EXPECT_GT(c["derived"]["thread"]["context_switches_per_second"].get<double>(), 0);
    // The whole machine did at least the work of the cell's threads (tick resolution aside).
    EXPECT_GT(c["system"]["cpu_time"]["busy_seconds"].get<double>(), 0);
}

TEST(CountersLab, UnsupportedEventsCarryAReason) {
    REQUIRE_ROOT();
    auto observer = make_counters(CounterOptions{});
    const CellResult result = run_cell(small_cell(), {observer.get()});
    ASSERT_TRUE(result.error.empty()) << result.error;
    const nlohmann::json c = counters_json(result);
    const bool no_pmu = discover_pmus().core.empty();
    for (const auto* events : {&c["thread"]["sender"]["events"], &c["thread"]["receiver"]["events"],
                               &c["system"]["events"]}) {
        for (const auto& def : all_events()) {
            const auto& e = events->at(std::string(def.name));
            if (def.kind == EventKind::software) {
                EXPECT_TRUE(e.contains("value")) << def.name << ": " << e.dump();
            } else if (no_pmu) {
                // Like this VM: the kernel refuses, and the report says why instead of 0.
                ASSERT_TRUE(e.contains("unsupported")) << def.name << ": " << e.dump();
                EXPECT_NE(e["unsupported"].get<std::string>().find('('), std::string::npos);
            }
        }
    }
    if (no_pmu) {
        EXPECT_TRUE(c["derived"]["thread"]["cycles_per_byte"].contains("unsupported"));
        EXPECT_NE(counters_summary(result.counters).find("hw: unsupported"), std::string::npos)
            << counters_summary(result.counters);
    }
}

TEST(CountersLab, ScopesAreSelectable) {
    REQUIRE_ROOT();
    CounterOptions thread_only;
    thread_only.scope = CounterScope::thread;
    thread_only.events = parse_counter_selection("task-clock,context-switches");
    auto t = make_counters(thread_only);
    CellSpec spec = small_cell();
    spec.bytes = 8ull << 20;
    CellResult r = run_cell(spec, {t.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_TRUE(counters_json(r).contains("thread"));
    EXPECT_FALSE(counters_json(r).contains("system"));
    EXPECT_EQ(counters_json(r)["thread"]["sender"]["events"].size(), 2u);

    CounterOptions system_only;
    system_only.scope = CounterScope::system;
    auto s = make_counters(system_only);
    r = run_cell(spec, {s.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_FALSE(counters_json(r).contains("thread"));
    EXPECT_GT(value(counters_json(r)["system"]["events"], "task-clock"), 0);

    CounterOptions none;
    none.events = parse_counter_selection("none");
    auto n = make_counters(none);
    r = run_cell(spec, {n.get()});
    ASSERT_TRUE(r.error.empty()) << r.error;
    EXPECT_FALSE(r.counters.has_value());
    EXPECT_TRUE(counters_json(r).is_null());
}

// The observer on its own, driven like the runner drives it: two threads ping-pong over a
// socketpair, so each blocks on the other and must be switched out.
TEST(CountersLab, ObserverCountsEachThreadPerRole) {
    REQUIRE_ROOT();
    auto lab = Lab::create(Transport::loopback);
    CounterOptions opt;
    opt.events = parse_counter_selection("task-clock,context-switches,page-faults");
    auto observer = make_counters(opt);
    CellSpec spec;
    spec.transport = Transport::loopback;
    observer->cell_begin(spec, *lab);

    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    constexpr int rounds = 2000;
    auto play = [&](Role role, int fd, bool serve_first) {
        observer->thread_begin(role);
        char byte = 'x';
        for (int i = 0; i < rounds; ++i) {
            if (serve_first) {
                if (write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1) break;
            } else {
                if (read(fd, &byte, 1) != 1 || write(fd, &byte, 1) != 1) break;
            }
        }
        observer->thread_end(role);
    };
    const auto start = std::chrono::steady_clock::now();
    std::thread sender(play, Role::sender, a.get(), true);
    std::thread receiver(play, Role::receiver, b.get(), false);
    sender.join();
    receiver.join();
    CellResult result;
    result.spec = spec;
    result.app.bytes_sent = rounds;
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    observer->cell_end(result);

    const nlohmann::json c = counters_json(result);
    for (const char* role : {"sender", "receiver"}) {
        const auto& ev = c["thread"][role]["events"];
        EXPECT_EQ(c["thread"][role]["threads"], 1);
        EXPECT_GT(value(ev, "task-clock"), 0) << role;
        EXPECT_GT(value(ev, "context-switches"), 0) << role;
        EXPECT_FALSE(ev.contains("cycles")); // not selected
    }
    EXPECT_GT(c["derived"]["thread"]["cpu_seconds_per_gib"].get<double>(), 0);
}
