// Unit tests for the counters: no root, no perf events opened except where noted.
#include <gtest/gtest.h>

#include "common/errors.h"
#include "counters/counters.h"
#include "counters/doctor.h"
#include "counters/summary.h"
#include "report/counters_json.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <linux/perf_event.h>
#include <set>
#include <unistd.h>

using namespace copyscope;
namespace fs = std::filesystem;

namespace {

// A throwaway directory tree, removed when the test ends.
struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "copyscope-counters-XXXXXX").string();
        path = mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
    void write(const std::string& rel, const std::string& text) const {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text << "\n";
    }
};

std::vector<const EventDef*> events(std::initializer_list<const char*> names) {
    std::vector<const EventDef*> out;
    for (const char* n : names)
        out.push_back(find_event(n));
    return out;
}

EventTotal counted(uint64_t value, uint64_t enabled = 1000, uint64_t running = 1000) {
    EventTotal t;
    t.add(EventReading{value, enabled, running});
    return t;
}

EventTotal unsupported(const std::string& why) {
    EventTotal t;
    t.add_unsupported(why);
    return t;
}

} // namespace

TEST(EventTable, HasTheTwelveEventsOfTheIssueWithTheirKinds) {
    std::map<std::string, EventKind> expected = {
        {"cycles", EventKind::hardware},           {"instructions", EventKind::hardware},
        {"cache-references", EventKind::hardware}, {"cache-misses", EventKind::hardware},
        {"branch-misses", EventKind::hardware},    {"L1-dcache-load-misses", EventKind::cache},
        {"LLC-load-misses", EventKind::cache},     {"LLC-store-misses", EventKind::cache},
        {"task-clock", EventKind::software},       {"context-switches", EventKind::software},
        {"cpu-migrations", EventKind::software},   {"page-faults", EventKind::software},
    };
    ASSERT_EQ(all_events().size(), expected.size());
    for (const auto& e : all_events()) {
        auto it = expected.find(std::string(e.name));
        ASSERT_NE(it, expected.end()) << e.name;
        EXPECT_EQ(e.kind, it->second) << e.name;
        EXPECT_EQ(uses_cpu_pmu(e), e.kind != EventKind::software) << e.name;
    }
}

TEST(EventTable, EncodesPerfTypesAndConfigs) {
    EXPECT_EQ(find_event("cycles")->type, uint32_t(PERF_TYPE_HARDWARE));
    EXPECT_EQ(find_event("cycles")->config, uint64_t(PERF_COUNT_HW_CPU_CYCLES));
    EXPECT_EQ(find_event("branch-misses")->config, uint64_t(PERF_COUNT_HW_BRANCH_MISSES));
    // Cache events: id | op << 8 | result << 16, as perf_event_open(2) documents.
    EXPECT_EQ(find_event("L1-dcache-load-misses")->type, uint32_t(PERF_TYPE_HW_CACHE));
    EXPECT_EQ(find_event("L1-dcache-load-misses")->config, 0x10000u);
    EXPECT_EQ(find_event("LLC-load-misses")->config, 0x10002u);
    EXPECT_EQ(find_event("LLC-store-misses")->config, 0x10102u);
    EXPECT_EQ(find_event("task-clock")->type, uint32_t(PERF_TYPE_SOFTWARE));
    EXPECT_EQ(find_event("task-clock")->config, uint64_t(PERF_COUNT_SW_TASK_CLOCK));
    EXPECT_EQ(find_event("task-clock")->unit, "ns");
    EXPECT_EQ(find_event("page-faults")->config, uint64_t(PERF_COUNT_SW_PAGE_FAULTS));
    EXPECT_EQ(find_event("no-such-event"), nullptr);
}

TEST(Selection, DefaultIsEveryEventAndNoneIsNothing) {
    EXPECT_EQ(parse_counter_selection("default").size(), all_events().size());
    EXPECT_TRUE(parse_counter_selection("none").empty());
}

TEST(Selection, ListKeepsTableOrderAndCollapsesDuplicates) {
    const auto sel = parse_counter_selection("task-clock, cycles,task-clock");
    ASSERT_EQ(sel.size(), 2u);
    EXPECT_EQ(sel[0]->name, "cycles");
    EXPECT_EQ(sel[1]->name, "task-clock");
}

TEST(Selection, UnknownNameIsAUsageErrorNamingItAndTheAllowedOnes) {
    try {
        parse_counter_selection("task-clock,cycels");
        FAIL() << "no exception";
    } catch (const UsageError& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("'cycels'"), std::string::npos) << msg;
        EXPECT_NE(msg.find("LLC-store-misses"), std::string::npos) << msg;
        EXPECT_NE(msg.find("default"), std::string::npos) << msg;
    }
}

TEST(Selection, EmptyValuesAreUsageErrors) {
    EXPECT_THROW(parse_counter_selection(""), UsageError);
    EXPECT_THROW(parse_counter_selection("cycles,,task-clock"), UsageError);
    EXPECT_THROW(parse_counter_selection("cycles,"), UsageError);
}

TEST(Selection, Scope) {
    EXPECT_EQ(parse_counter_scope("thread"), CounterScope::thread);
    EXPECT_EQ(parse_counter_scope("system"), CounterScope::system);
    EXPECT_EQ(parse_counter_scope("both"), CounterScope::both);
    try {
        parse_counter_scope("cpu");
        FAIL() << "no exception";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("'cpu'"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("thread, system, both"), std::string::npos);
    }
}

TEST(Errno, ReasonNamesTheErrnoAndWhatItMeans) {
    const std::string r = perf_errno_reason(ENOENT);
    EXPECT_EQ(r.rfind("ENOENT (", 0), 0u) << r;
    EXPECT_NE(r.find("no such event"), std::string::npos) << r;
    EXPECT_NE(perf_errno_reason(EACCES).find("CAP_PERFMON"), std::string::npos);
}

TEST(Scaling, UnmultiplexedValueIsExact) {
    EXPECT_EQ(scaled_value({1234, 500, 500}), 1234.0);
    EXPECT_EQ(scaled_value({0, 0, 0}), 0.0); // never enabled: nothing happened
}

TEST(Scaling, MultiplexedValueIsExtrapolatedByEnabledOverRunning) {
    EXPECT_DOUBLE_EQ(*scaled_value({100, 400, 100}), 400.0);
    EXPECT_DOUBLE_EQ(*scaled_value({300, 1000, 750}), 400.0);
    // Large values do not overflow the product.
    EXPECT_DOUBLE_EQ(*scaled_value({uint64_t(1) << 62, uint64_t(1) << 40, uint64_t(1) << 39}),
                     double(uint64_t(1) << 63));
}

TEST(Scaling, NeverRunningHasNoValue) {
    EXPECT_FALSE(scaled_value({0, 1000, 0}).has_value());
}

TEST(Scaling, TotalsSumScaledValuesAndReportTheRunningFraction) {
    EventTotal t;
    t.add({100, 1000, 500});  // -> 200
    t.add({300, 1000, 1000}); // -> 300
    EXPECT_DOUBLE_EQ(t.value, 500.0);
    EXPECT_EQ(t.raw, 400u);
    EXPECT_DOUBLE_EQ(t.running_fraction(), 0.75);
    EXPECT_TRUE(t.counted());
    t.add({0, 1000, 0});
    EXPECT_EQ(t.never_ran, 1u);
    EXPECT_TRUE(t.counted()); // two of three instances ran

    EventTotal raw;
    raw.add({100, 1000, 500}, /*scale=*/false); // hybrid per-thread: no extrapolation
    EXPECT_DOUBLE_EQ(raw.value, 100.0);

    EventTotal merged = unsupported("ENOENT");
    merged.merge(t);
    EXPECT_FALSE(merged.counted());
    EXPECT_EQ(merged.unsupported, "ENOENT");
}

TEST(Pmu, ParsesCpuLists) {
    EXPECT_EQ(parse_cpu_list("0-3,8,10-11"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
    EXPECT_EQ(parse_cpu_list("0"), (std::vector<int>{0}));
    EXPECT_EQ(parse_cpu_list(""), (std::vector<int>{}));
    EXPECT_EQ(parse_cpu_list("2,x,1"), (std::vector<int>{1, 2}));
}

TEST(Pmu, DiscoversHybridCorePmusFromSysfs) {
    TempDir root;
    const std::string dev = "bus/event_source/devices/";
    root.write(dev + "cpu_core/type", "4");
    root.write(dev + "cpu_core/cpus", "0-7");
    root.write(dev + "cpu_atom/type", "10");
    root.write(dev + "cpu_atom/cpus", "8-15");
    root.write(dev + "software/type", "1");
    root.write(dev + "uncore_imc_0/type", "15");
    root.write(dev + "uncore_imc_0/cpumask", "0");
    root.write("devices/system/cpu/online", "0-15");

    const PmuTopology topo = discover_pmus(root.path);
    ASSERT_EQ(topo.core.size(), 2u);
    EXPECT_TRUE(topo.hybrid());
    EXPECT_EQ(topo.core[0].name, "cpu_atom");
    EXPECT_EQ(topo.core[0].type, 10u);
    EXPECT_EQ(topo.core[0].cpus.size(), 8u);
    EXPECT_EQ(topo.core[0].cpus.front(), 8);
    EXPECT_EQ(topo.core[1].name, "cpu_core");
    EXPECT_EQ(topo.core[1].type, 4u);
    EXPECT_EQ(online_cpus(root.path).size(), 16u);
    // The kernel's extended hardware type: PMU type in config bits 32-63.
    EXPECT_EQ(pmu_config(PERF_COUNT_HW_INSTRUCTIONS, &topo.core[1], true),
              (uint64_t(4) << 32) | PERF_COUNT_HW_INSTRUCTIONS);
    EXPECT_EQ(pmu_config(0x10002, &topo.core[0], true), (uint64_t(10) << 32) | 0x10002);
}

TEST(Pmu, PlainCpuIsNotHybridAndKeepsConfig) {
    TempDir root;
    root.write("bus/event_source/devices/cpu/type", "4");
    root.write("bus/event_source/devices/software/type", "1");
    const PmuTopology topo = discover_pmus(root.path);
    ASSERT_EQ(topo.core.size(), 1u);
    EXPECT_EQ(topo.core[0].name, "cpu");
    EXPECT_TRUE(topo.core[0].cpus.empty());
    EXPECT_FALSE(topo.hybrid());
    EXPECT_EQ(pmu_config(PERF_COUNT_HW_CPU_CYCLES, &topo.core[0], false),
              uint64_t(PERF_COUNT_HW_CPU_CYCLES));
}

TEST(Pmu, NoCorePmuLikeAVm) {
    TempDir root;
    root.write("bus/event_source/devices/software/type", "1");
    root.write("bus/event_source/devices/tracepoint/type", "2");
    EXPECT_TRUE(discover_pmus(root.path).core.empty());
    EXPECT_TRUE(discover_pmus(root.path / "missing").core.empty());
}

TEST(CpuTimes, ParsesTheAllCpuLineOfProcStat) {
    TempDir root;
    root.write("stat", "cpu  10 1 20 300 4 5 6 7 0 0\ncpu0 5 0 10 150 2 2 3 3 0 0\nintr 1");
    const CpuTimes t = read_cpu_times(root.path / "stat");
    ASSERT_TRUE(t.valid);
    EXPECT_EQ(t.user, 10u);
    EXPECT_EQ(t.system, 20u);
    EXPECT_EQ(t.idle, 300u);
    EXPECT_EQ(t.softirq, 6u);
    EXPECT_EQ(t.steal, 7u);
    EXPECT_FALSE(read_cpu_times(root.path / "missing").valid);
}

namespace {

// The cell's counters as the report writes them; they must read back as the same value.
nlohmann::json counters_json(const CounterSnapshot& snap, uint64_t bytes, double seconds) {
    const CounterResult r = counter_result(snap, bytes, seconds);
    nlohmann::json j = to_json(r);
    EXPECT_EQ(counters_from_json(JsonIn(j, "counters")), r) << j.dump(2);
    EXPECT_EQ(to_json(counters_from_json(JsonIn(j, "counters"))), j);
    return j;
}

// A cell on a machine like this VM: hardware events unsupported, software events counted.
CounterSnapshot vm_like_snapshot() {
    CounterSnapshot s;
    s.events = events({"cycles", "cache-misses", "task-clock", "context-switches"});
    s.scope = CounterScope::both;
    const std::string enoent = perf_errno_reason(ENOENT);
    for (auto* role : {&s.sender, &s.receiver}) {
        role->threads = 1;
        role->totals["cycles"] = unsupported(enoent);
        role->totals["cache-misses"] = unsupported(enoent);
        role->totals["task-clock"] = counted(1'000'000'000); // 1 s each
        role->totals["context-switches"] = counted(50);
    }
    s.cpus = {0, 1};
    s.system["cycles"] = unsupported(enoent);
    s.system["cache-misses"] = unsupported(enoent);
    s.system["task-clock"] = counted(4'000'000'000);
    s.system["context-switches"] = counted(400, 2000, 1000); // multiplexed: 800
    s.cpu_before = CpuTimes{100, 0, 100, 1000, 0, 0, 10, 0, true};
    s.cpu_after = CpuTimes{200, 0, 200, 1100, 0, 0, 60, 0, true};
    return s;
}

} // namespace

TEST(Json, UnsupportedEventsCarryAReasonAndNoValue) {
    const auto j = counters_json(vm_like_snapshot(), uint64_t(2) << 30, 2.0);
    for (const char* role : {"sender", "receiver"}) {
        const auto& ev = j["thread"][role]["events"];
        ASSERT_TRUE(ev["cycles"].is_object());
        EXPECT_FALSE(ev["cycles"].contains("value"));
        EXPECT_EQ(ev["cycles"]["unsupported"].get<std::string>().rfind("ENOENT", 0), 0u);
        EXPECT_DOUBLE_EQ(ev["task-clock"]["value"].get<double>(), 1e9);
        EXPECT_EQ(ev["task-clock"]["unit"], "ns");
        EXPECT_EQ(ev["task-clock"]["kind"], "software");
        EXPECT_EQ(ev["task-clock"]["scaled"], false);
        EXPECT_DOUBLE_EQ(ev["task-clock"]["running_fraction"].get<double>(), 1.0);
        EXPECT_EQ(j["thread"][role]["threads"], 1);
    }
    EXPECT_EQ(j["events"],
              nlohmann::json({"cycles", "cache-misses", "task-clock", "context-switches"}));
    EXPECT_EQ(j["scopes"], nlohmann::json({"thread", "system"}));
    EXPECT_EQ(j["hybrid"], false);
    bool hw_note = false;
    for (const auto& n : j["notes"])
        hw_note |= n.get<std::string>().find("hardware events unsupported") != std::string::npos;
    EXPECT_TRUE(hw_note) << j["notes"].dump();
}

TEST(Json, SystemScopeAloneStillSaysHardwareIsUnsupported) {
    CounterSnapshot s = vm_like_snapshot();
    s.scope = CounterScope::system;
    const auto j = counters_json(s, 1 << 20, 1.0);
    EXPECT_FALSE(j.contains("thread"));
    EXPECT_FALSE(j["derived"].contains("thread"));
    EXPECT_TRUE(j["derived"].contains("system"));
    bool hw_note = false;
    for (const auto& n : j["notes"])
        hw_note |= n.get<std::string>().find("hardware events unsupported") != std::string::npos;
    EXPECT_TRUE(hw_note) << j["notes"].dump();
    EXPECT_NE(j["summary"].get<std::string>().find("busy"), std::string::npos) << j["summary"];
    EXPECT_NE(j["summary"].get<std::string>().find("hw: unsupported"), std::string::npos);
}

TEST(Json, MultiplexedEventsAreScaledAndSayBy) {
    const auto j = counters_json(vm_like_snapshot(), 1 << 20, 1.0);
    const auto& cs = j["system"]["events"]["context-switches"];
    EXPECT_DOUBLE_EQ(cs["value"].get<double>(), 800.0);
    EXPECT_EQ(cs["raw"], 400);
    EXPECT_EQ(cs["scaled"], true);
    EXPECT_DOUBLE_EQ(cs["running_fraction"].get<double>(), 0.5);
    EXPECT_EQ(j["system"]["cpus"], nlohmann::json({0, 1}));
}

TEST(Json, DerivedFiguresFollowTheirInputs) {
    const auto j = counters_json(vm_like_snapshot(), uint64_t(2) << 30, 2.0);
    const auto& d = j["derived"]["thread"];
    // 2 s of task-clock (both roles) over 2 GiB.
    EXPECT_DOUBLE_EQ(d["cpu_seconds_per_gib"].get<double>(), 1.0);
    EXPECT_DOUBLE_EQ(d["context_switches_per_second"].get<double>(), 50.0);
    EXPECT_NE(d["cycles_per_byte"]["unsupported"].get<std::string>().find("ENOENT"),
              std::string::npos);
    EXPECT_TRUE(d["cache_misses_per_kib"].contains("unsupported"));
    // instructions were not selected: unsupported, and it says why.
    EXPECT_NE(d["instructions_per_byte"]["unsupported"].get<std::string>().find("not selected"),
              std::string::npos);
    // System: busy time from /proc/stat ticks (100 user + 100 system + 50 softirq).
    const double hz = double(sysconf(_SC_CLK_TCK));
    EXPECT_DOUBLE_EQ(j["system"]["cpu_time"]["busy_seconds"].get<double>(), 250 / hz);
    EXPECT_DOUBLE_EQ(j["system"]["cpu_time"]["softirq_seconds"].get<double>(), 50 / hz);
    EXPECT_DOUBLE_EQ(j["derived"]["system"]["cpu_seconds_per_gib"].get<double>(), 125 / hz);
    EXPECT_DOUBLE_EQ(j["derived"]["system"]["context_switches_per_second"].get<double>(), 400.0);
}

TEST(Json, SupportedHardwareGivesPerByteFigures) {
    CounterSnapshot s;
    s.events = events({"cycles", "instructions", "cache-misses", "task-clock"});
    s.scope = CounterScope::thread;
    s.sender.threads = 2;
    s.sender.totals = {{"cycles", counted(3000)},
                       {"instructions", counted(1000)},
                       {"cache-misses", counted(8)},
                       {"task-clock", counted(5)}};
    s.receiver.threads = 1;
    s.receiver.totals = {{"cycles", counted(1000)},
                         {"instructions", counted(1000)},
                         {"cache-misses", counted(8)},
                         {"task-clock", counted(5)}};
    const auto j = counters_json(s, 1024, 1.0);
    const auto typed = counter_result(s, 1024, 1.0);
    EXPECT_FALSE(j.contains("system"));
    EXPECT_EQ(j["scopes"], nlohmann::json({"thread"}));
    EXPECT_EQ(j["thread"]["sender"]["threads"], 2);
    EXPECT_DOUBLE_EQ(j["derived"]["thread"]["cycles_per_byte"].get<double>(), 4000.0 / 1024);
    EXPECT_DOUBLE_EQ(j["derived"]["thread"]["instructions_per_byte"].get<double>(), 2000.0 / 1024);
    EXPECT_DOUBLE_EQ(j["derived"]["thread"]["cache_misses_per_kib"].get<double>(), 16.0);
    for (const auto& n : j["notes"])
        EXPECT_EQ(n.get<std::string>().find("hardware events unsupported"), std::string::npos);
    const std::string line = counters_summary(typed);
    EXPECT_NE(line.find("3.91 cycles/B"), std::string::npos) << line;
    EXPECT_EQ(line.find("hw: unsupported"), std::string::npos) << line;
}

TEST(Json, NoBytesOrMissingRoleMakesFiguresUnsupported) {
    CounterSnapshot s = vm_like_snapshot();
    s.receiver = {};
    const auto j = counters_json(s, 0, 0.0);
    EXPECT_TRUE(j["thread"]["receiver"].contains("unsupported"));
    EXPECT_TRUE(j["derived"]["thread"]["cpu_seconds_per_gib"].contains("unsupported"));
    EXPECT_TRUE(j["derived"]["system"]["cpu_seconds_per_gib"].contains("unsupported"));
    EXPECT_NE(j["derived"]["system"]["cpu_seconds_per_gib"]["unsupported"].get<std::string>().find(
                  "no bytes"),
              std::string::npos);
}

TEST(Json, EventThatNeverRanIsUnsupportedNotZero) {
    CounterSnapshot s;
    s.events = events({"cycles"});
    s.scope = CounterScope::thread;
    s.sender.threads = s.receiver.threads = 1;
    s.sender.totals["cycles"] = counted(0, 1000, 0);
    s.receiver.totals["cycles"] = counted(10);
    const auto j = counters_json(s, 100, 1.0);
    const auto& c = j["thread"]["sender"]["events"]["cycles"];
    EXPECT_FALSE(c.contains("value"));
    EXPECT_NE(c["unsupported"].get<std::string>().find("never scheduled"), std::string::npos);
    EXPECT_TRUE(j["thread"]["receiver"]["events"]["cycles"].contains("value"));
}

TEST(Json, HybridEventsNameTheirPmus) {
    CounterSnapshot s;
    s.events = events({"instructions"});
    s.scope = CounterScope::thread;
    s.pmus.core = {{"cpu_atom", 10, {}}, {"cpu_core", 4, {}}};
    s.sender.threads = s.receiver.threads = 1;
    s.sender.totals["instructions"] = counted(10);
    s.receiver.totals["instructions"] = counted(10);
    const auto j = counters_json(s, 100, 1.0);
    EXPECT_EQ(j["hybrid"], true);
    EXPECT_EQ(j["pmus"].size(), 2u);
    EXPECT_EQ(j["thread"]["sender"]["events"]["instructions"]["pmus"],
              nlohmann::json({"cpu_atom", "cpu_core"}));
    bool said = false;
    for (const auto& n : j["notes"])
        said |= n.get<std::string>().find("hybrid") != std::string::npos;
    EXPECT_TRUE(said);
}

TEST(Summary, SaysHardwareIsUnsupportedAtAGlance) {
    const auto j = counters_json(vm_like_snapshot(), uint64_t(2) << 30, 2.0);
    const std::string line =
        counters_summary(counter_result(vm_like_snapshot(), uint64_t(2) << 30, 2.0));
    EXPECT_NE(line.find("task-clock 1 CPU-s/GiB"), std::string::npos) << line;
    EXPECT_NE(line.find("50 cs/s"), std::string::npos) << line;
    EXPECT_NE(line.find("hw: unsupported (ENOENT)"), std::string::npos) << line;
    EXPECT_EQ(j["summary"], line);
    EXPECT_EQ(counters_summary(std::nullopt), "counters: none");
}

TEST(Doctor, RendersATableWithNumberedReasons) {
    CounterDoctor d;
    d.perf_event_paranoid = 2;
    d.events = {{"cycles", "hardware", {false, "ENOENT (x)"}, {false, "ENOENT (x)"}},
                {"task-clock", "software", {true, ""}, {true, ""}}};
    const std::string text = render_counters_doctor(d);
    EXPECT_NE(text.find("none visible"), std::string::npos) << text;
    EXPECT_NE(text.find("cycles"), std::string::npos) << text;
    EXPECT_NE(text.find("unsupported [1]"), std::string::npos) << text;
    EXPECT_EQ(text.find("[2]"), std::string::npos) << text; // one reason, listed once
    EXPECT_NE(text.find("[1] ENOENT (x)"), std::string::npos) << text;
    EXPECT_NE(text.find("counted"), std::string::npos) << text;
}

// Opens real events: task-clock on one's own thread, kernel included, is allowed to root
// and, at perf_event_paranoid <= 1, to anyone.
TEST(Doctor, TaskClockOnOwnThreadIsSupported) {
    std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
    int level = 0;
    in >> level;
    // Kernel work is counted too: unprivileged users need perf_event_paranoid <= 1.
    if (level > 1 && geteuid() != 0) GTEST_SKIP() << "perf_event_paranoid " << level;
    const CounterDoctor d = counters_doctor();
    ASSERT_EQ(d.events.size(), all_events().size());
    bool found = false;
    for (const auto& e : d.events) {
        if (e.name != "task-clock") continue;
        found = true;
        EXPECT_TRUE(e.thread.supported) << e.thread.reason;
    }
    EXPECT_TRUE(found);
    for (const auto& e : d.events)
        for (const EventSupport* scope : {&e.thread, &e.system}) {
            if (!scope->supported) {
                EXPECT_FALSE(scope->reason.empty()) << e.name;
            }
        }
}

// Real perf events on one's own thread (root, or anyone at perf_event_paranoid <= 1):
// software events share one group, count, and need no scaling.
TEST(CounterSetTest, SoftwareEventsOpenAsOneGroupAndCount) {
    std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
    int level = 0;
    in >> level;
    // Kernel work is counted too: unprivileged users need perf_event_paranoid <= 1.
    if (level > 1 && geteuid() != 0) GTEST_SKIP() << "perf_event_paranoid " << level;
    const auto sel = parse_counter_selection("task-clock,context-switches,page-faults");
    CounterSet set = CounterSet::open(sel, PmuTopology{}, 0, -1);
    EXPECT_EQ(set.groups(), 1u);
    set.enable();
    // Touch fresh pages so page-faults has something to count.
    std::vector<char> pages(1 << 22);
    for (size_t i = 0; i < pages.size(); i += 4096)
        pages[i] = char(i);
    set.disable();
    const auto samples = set.read();
    ASSERT_EQ(samples.size(), 3u);
    for (const auto& s : samples) {
        EXPECT_TRUE(s.unsupported.empty()) << s.def->name << ": " << s.unsupported;
        ASSERT_EQ(s.readings.size(), 1u) << s.def->name;
        EXPECT_EQ(s.readings[0].second.running, s.readings[0].second.enabled);
    }
    EXPECT_GT(samples[0].readings[0].second.value, 0u); // task-clock ns
    EXPECT_GT(samples[2].readings[0].second.value, 0u); // page-faults
}
