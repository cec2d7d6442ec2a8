#include "counters/counters.h"

#include "common/errors.h"
#include "common/format.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>

namespace copyscope {
namespace {

using Totals = std::map<std::string, EventTotal>;

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

void accumulate(Totals& totals, const std::vector<CounterSet::Sample>& samples, bool scale) {
    for (const auto& s : samples) {
        EventTotal& t = totals[std::string(s.def->name)];
        if (!s.unsupported.empty()) {
            t.add_unsupported(s.unsupported);
            continue;
        }
        for (const auto& [pmu, reading] : s.readings)
            t.add(reading, scale);
    }
}

// A measured value, or why there is none.
struct Figure {
    std::optional<double> value;
    std::string why;
};

Figure lookup(const Totals& totals, const std::vector<const EventDef*>& selected,
              std::string_view name) {
    bool is_selected = false;
    for (const EventDef* e : selected)
        is_selected |= e->name == name;
    if (!is_selected) return {std::nullopt, std::string(name) + " not selected (--counters)"};
    auto it = totals.find(std::string(name));
    if (it == totals.end()) return {std::nullopt, std::string(name) + " not measured"};
    const EventTotal& t = it->second;
    if (!t.unsupported.empty()) return {std::nullopt, std::string(name) + ": " + t.unsupported};
    if (!t.counted()) return {std::nullopt, std::string(name) + ": never scheduled on a counter"};
    return {t.value, ""};
}

nlohmann::json figure_json(const Figure& f) {
    if (f.value && std::isfinite(*f.value)) return *f.value;
    return {{"unsupported", f.why}};
}

// numerator / denominator, unsupported when either side is.
Figure ratio(const Figure& num, double scale, double denominator, const std::string& denom_why) {
    if (!num.value) return {std::nullopt, num.why};
    if (!(denominator > 0)) return {std::nullopt, denom_why};
    return {*num.value * scale / denominator, ""};
}

nlohmann::json event_json(const EventDef& def, const EventTotal& t, bool scaled_mode,
                          const PmuTopology& pmus) {
    if (!t.unsupported.empty()) return {{"unsupported", t.unsupported}};
    if (t.instances > 0 && t.never_ran == t.instances)
        return {{"unsupported",
                 "never scheduled on a counter (time_running 0 of " + std::to_string(t.enabled) +
                     " ns enabled): more events than the PMU has counters; select fewer "
                     "with --counters"}};
    nlohmann::json j = {{"value", t.value},
                        {"unit", def.unit},
                        {"kind", to_string(def.kind)},
                        {"raw", t.raw},
                        {"running_fraction", t.running_fraction()},
                        {"scaled", scaled_mode && t.running < t.enabled}};
    if (uses_cpu_pmu(def) && pmus.hybrid()) {
        nlohmann::json names = nlohmann::json::array();
        for (const auto& p : pmus.core)
            names.push_back(p.name);
        j["pmus"] = names; // summed over these
    }
    if (t.never_ran > 0)
        j["incomplete"] = std::to_string(t.never_ran) + " of " + std::to_string(t.instances) +
                          " instances never ran on a counter; value undercounts";
    return j;
}

nlohmann::json events_json(const std::vector<const EventDef*>& selected, const Totals& totals,
                           bool scaled_mode, const PmuTopology& pmus) {
    nlohmann::json out = nlohmann::json::object();
    for (const EventDef* e : selected) {
        auto it = totals.find(std::string(e->name));
        out[std::string(e->name)] = it == totals.end()
                                        ? nlohmann::json{{"unsupported", "not measured"}}
                                        : event_json(*e, it->second, scaled_mode, pmus);
    }
    return out;
}

nlohmann::json derived_json(const Totals& totals, const std::vector<const EventDef*>& selected,
                            uint64_t bytes, double seconds, const Figure& cpu_seconds) {
    const std::string no_bytes = "no bytes moved in this cell";
    const std::string no_time = "the cell has no duration";
    const double b = double(bytes);
    nlohmann::json d;
    d["cycles_per_byte"] = figure_json(ratio(lookup(totals, selected, "cycles"), 1, b, no_bytes));
    d["instructions_per_byte"] =
        figure_json(ratio(lookup(totals, selected, "instructions"), 1, b, no_bytes));
    d["cache_misses_per_kib"] =
        figure_json(ratio(lookup(totals, selected, "cache-misses"), 1024, b, no_bytes));
    d["context_switches_per_second"] =
        figure_json(ratio(lookup(totals, selected, "context-switches"), 1, seconds, no_time));
    d["cpu_seconds_per_gib"] = figure_json(ratio(cpu_seconds, kGiB, b, no_bytes));
    return d;
}

double clock_ticks_per_second() {
    const long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? double(hz) : 100.0;
}

// One fd per event, CPU and PMU: a large machine needs more than the usual soft limit of
// 1024, and the hard limit is ours to take.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

uint64_t busy_ticks(const CpuTimes& t) {
    return t.user + t.nice + t.system + t.irq + t.softirq + t.steal;
}

class CountersObserver final : public CellObserver {
  public:
    explicit CountersObserver(CounterOptions options)
        : options_(std::move(options)), pmus_(discover_pmus(options_.sysfs_root)) {}

    void cell_begin(const CellSpec& /*spec*/, const Lab& /*lab*/) override {
        std::lock_guard lock(mu_);
        live_.clear();
        system_.clear();
        snap_ = CounterSnapshot{};
        snap_.events = options_.events;
        snap_.scope = options_.scope;
        snap_.pmus = pmus_;
        if (options_.events.empty()) return;
        if (options_.scope != CounterScope::thread) {
            snap_.cpus = online_cpus(options_.sysfs_root);
            if (snap_.cpus.empty())
                snap_.system_unsupported =
                    "no online CPU list under " +
                    (options_.sysfs_root / "devices/system/cpu/online").string();
            raise_fd_limit();
            for (int cpu : snap_.cpus)
                system_.push_back(CounterSet::open(options_.events, pmus_, -1, cpu));
            snap_.cpu_before = read_cpu_times(options_.proc_stat);
            for (auto& set : system_)
                set.enable();
        }
    }

    void thread_begin(Role role) override {
        if (options_.events.empty() || options_.scope == CounterScope::system) return;
        // Opened on the calling thread: pid 0 follows exactly this thread, in user and kernel.
        CounterSet set = CounterSet::open(options_.events, pmus_, 0, -1);
        set.enable();
        std::lock_guard lock(mu_);
        live_[std::this_thread::get_id()] = Live{role, std::move(set)};
    }

    void thread_end(Role role) override {
        if (options_.events.empty() || options_.scope == CounterScope::system) return;
        std::lock_guard lock(mu_);
        auto it = live_.find(std::this_thread::get_id());
        if (it == live_.end()) return;
        it->second.set.disable();
        add_thread(role, it->second.set);
        live_.erase(it);
    }

    void cell_end(CellResult& result) override {
        std::lock_guard lock(mu_);
        if (options_.events.empty()) {
            result.counters = nullptr;
            return;
        }
        for (auto& set : system_)
            set.disable();
        if (!system_.empty()) snap_.cpu_after = read_cpu_times(options_.proc_stat);
        for (const auto& set : system_)
            accumulate(snap_.system, set.read(), true);
        if (!live_.empty()) {
            // A thread that began but never ended (its traffic failed): still count it.
            snap_.notes.push_back(std::to_string(live_.size()) +
                                  " thread(s) never called thread_end; read at cell end");
            for (auto& [id, l] : live_) {
                l.set.disable();
                add_thread(l.role, l.set);
            }
        }
        live_.clear();
        system_.clear();
        result.counters = counters_json(snap_, result.app.bytes_sent, result.seconds);
    }

  private:
    struct Live {
        Role role;
        CounterSet set;
    };

    void add_thread(Role role, const CounterSet& set) {
        CounterSnapshot::Role& r = role == Role::sender ? snap_.sender : snap_.receiver;
        ++r.threads;
        // On hybrid CPUs a thread's time off one PMU is time on the other: not multiplexing.
        accumulate(r.totals, set.read(), !pmus_.hybrid());
    }

    CounterOptions options_;
    PmuTopology pmus_;
    std::mutex mu_;
    std::unordered_map<std::thread::id, Live> live_;
    std::vector<CounterSet> system_;
    CounterSnapshot snap_;
};

} // namespace

CounterScope parse_counter_scope(const std::string& text) {
    if (text == "thread") return CounterScope::thread;
    if (text == "system") return CounterScope::system;
    if (text == "both") return CounterScope::both;
    throw UsageError("--counter-scope: unknown scope '" + text +
                     "'; allowed: thread, system, both");
}

std::string_view to_string(CounterScope s) {
    switch (s) {
    case CounterScope::thread:
        return "thread";
    case CounterScope::system:
        return "system";
    case CounterScope::both:
        return "both";
    }
    return "?";
}

std::unique_ptr<CellObserver> make_counters(const CounterOptions& options) {
    return std::make_unique<CountersObserver>(options);
}

CpuTimes read_cpu_times(const std::filesystem::path& proc_stat) {
    CpuTimes t;
    std::ifstream in(proc_stat);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("cpu ", 0) != 0) continue; // the all-CPU line
        std::istringstream ss(line.substr(4));
        ss >> t.user >> t.nice >> t.system >> t.idle >> t.iowait >> t.irq >> t.softirq >> t.steal;
        t.valid = bool(ss);
        break;
    }
    return t;
}

nlohmann::json counters_json(const CounterSnapshot& snap, uint64_t bytes, double seconds) {
    nlohmann::json j;
    nlohmann::json names = nlohmann::json::array();
    for (const EventDef* e : snap.events)
        names.push_back(e->name);
    j["events"] = names;
    nlohmann::json scopes = nlohmann::json::array();
    const bool thread = snap.scope != CounterScope::system;
    const bool system = snap.scope != CounterScope::thread;
    if (thread) scopes.push_back("thread");
    if (system) scopes.push_back("system");
    j["scopes"] = scopes;
    nlohmann::json pmus = nlohmann::json::array();
    for (const auto& p : snap.pmus.core)
        pmus.push_back({{"name", p.name}, {"type", p.type}});
    j["pmus"] = pmus;
    j["hybrid"] = snap.pmus.hybrid();
    std::vector<std::string> notes = snap.notes;
    bool wants_hw = false;
    for (const EventDef* e : snap.events)
        wants_hw |= uses_cpu_pmu(*e);
    if (wants_hw && snap.pmus.core.empty())
        notes.push_back("no core PMU under /sys/bus/event_source/devices: hardware and cache "
                        "events cannot be counted on this machine (typical of a VM)");
    if (wants_hw && snap.pmus.hybrid()) {
        std::string list;
        for (const auto& p : snap.pmus.core)
            list += (list.empty() ? "" : ", ") + p.name;
        notes.push_back("hybrid CPU: hardware and cache events opened on each core PMU (" + list +
                        ") and summed; per-thread values are raw sums, not scaled");
    }

    nlohmann::json derived = nlohmann::json::object();
    Totals both; // sender + receiver
    if (thread) {
        nlohmann::json t;
        for (const auto* role : {&snap.sender, &snap.receiver}) {
            const bool is_sender = role == &snap.sender;
            const char* name = is_sender ? "sender" : "receiver";
            if (!snap.thread_unsupported.empty()) {
                t[name] = {{"unsupported", snap.thread_unsupported}};
                continue;
            }
            if (role->threads == 0) {
                t[name] = {{"unsupported",
                            std::string("no ") + name + " thread reported to the counters"}};
                // A cell whose receiver is a sink on another host (nic) has no receiver
                // thread here: the derived figures are then this host's, the sender's.
                if (is_sender)
                    for (const EventDef* e : snap.events)
                        both[std::string(e->name)].add_unsupported(std::string("no ") + name +
                                                                   " thread counted");
                else
                    notes.push_back("no receiver thread on this host (the receiver is a sink "
                                    "elsewhere): per-thread figures are the sender's alone");
                continue;
            }
            t[name] = {
                {"threads", role->threads},
                {"events", events_json(snap.events, role->totals, !snap.pmus.hybrid(), snap.pmus)}};
            for (const auto& [ev, total] : role->totals)
                both[ev].merge(total);
        }
        j["thread"] = t;
        const Figure task = lookup(both, snap.events, "task-clock");
        const Figure cpu_s = task.value ? Figure{*task.value / 1e9, ""} : task;
        derived["thread"] = derived_json(both, snap.events, bytes, seconds, cpu_s);
    }
    if (system) {
        if (!snap.system_unsupported.empty()) {
            j["system"] = {{"unsupported", snap.system_unsupported}};
        } else {
            nlohmann::json s;
            s["cpus"] = snap.cpus;
            s["events"] = events_json(snap.events, snap.system, true, snap.pmus);
            Figure busy{std::nullopt, "no /proc/stat CPU times"};
            if (snap.cpu_before.valid && snap.cpu_after.valid) {
                const double hz = clock_ticks_per_second();
                auto secs = [&](uint64_t CpuTimes::*field) {
                    return double(snap.cpu_after.*field - snap.cpu_before.*field) / hz;
                };
                const double busy_s =
                    double(busy_ticks(snap.cpu_after) - busy_ticks(snap.cpu_before)) / hz;
                s["cpu_time"] = {{"user_seconds", secs(&CpuTimes::user) + secs(&CpuTimes::nice)},
                                 {"system_seconds", secs(&CpuTimes::system)},
                                 {"softirq_seconds", secs(&CpuTimes::softirq)},
                                 {"irq_seconds", secs(&CpuTimes::irq)},
                                 {"steal_seconds", secs(&CpuTimes::steal)},
                                 {"idle_seconds", secs(&CpuTimes::idle) + secs(&CpuTimes::iowait)},
                                 {"busy_seconds", busy_s},
                                 {"resolution_seconds", 1.0 / hz}};
                busy = Figure{busy_s, ""};
            }
            j["system"] = s;
            derived["system"] = derived_json(snap.system, snap.events, bytes, seconds, busy);
            notes.push_back("system scope counts every CPU of the machine, other work included; "
                            "its task-clock is time enabled per CPU (idle included), so its "
                            "cpu_seconds_per_gib comes from /proc/stat busy time");
        }
    }
    if (wants_hw) {
        // Say plainly when no hardware event could be counted (this VM), with the reason.
        const Totals& totals = thread ? both : snap.system;
        std::string hw_reason;
        bool any_hw_counted = false;
        for (const EventDef* e : snap.events) {
            if (!uses_cpu_pmu(*e)) continue;
            const Figure f = lookup(totals, snap.events, e->name);
            if (f.value)
                any_hw_counted = true;
            else if (hw_reason.empty())
                hw_reason = f.why;
        }
        if (!any_hw_counted)
            notes.push_back("hardware events unsupported, only software events counted (" +
                            hw_reason + ")");
    }
    j["derived"] = derived;
    j["notes"] = notes;
    j["summary"] = counters_summary(j); // the summary table's one-liner
    return j;
}

nlohmann::json counters_doctor(const CounterOptions& options) {
    const PmuTopology pmus = discover_pmus(options.sysfs_root);
    nlohmann::json j;
    nlohmann::json plist = nlohmann::json::array();
    for (const auto& p : pmus.core)
        plist.push_back({{"name", p.name}, {"type", p.type}});
    j["pmus"] = plist;
    j["hybrid"] = pmus.hybrid();
    {
        std::ifstream in("/proc/sys/kernel/perf_event_paranoid");
        int level = 0;
        if (in >> level)
            j["perf_event_paranoid"] = level;
        else
            j["perf_event_paranoid"] = nullptr;
    }
    const std::vector<int> cpus = online_cpus(options.sysfs_root);
    // Open for real, briefly count, and read: an event that opens but never runs is no use.
    auto probe = [&](pid_t pid, int cpu) {
        CounterSet set = CounterSet::open(options.events, pmus, pid, cpu);
        set.enable();
        volatile uint64_t spin = 0;
        for (int i = 0; i < 200000; ++i)
            spin = spin + uint64_t(i);
        set.disable();
        std::map<std::string, nlohmann::json> out;
        for (const auto& s : set.read()) {
            EventTotal t;
            if (!s.unsupported.empty()) t.add_unsupported(s.unsupported);
            for (const auto& [pmu, r] : s.readings)
                t.add(r, !pmus.hybrid() || cpu >= 0);
            nlohmann::json e = {{"supported", t.counted()}};
            if (!t.unsupported.empty())
                e["reason"] = t.unsupported;
            else if (!t.counted())
                e["reason"] = "opens but never ran on a counter (time_running 0)";
            out[std::string(s.def->name)] = e;
        }
        return out;
    };
    const auto thread = probe(0, -1);
    std::map<std::string, nlohmann::json> system;
    if (!cpus.empty()) system = probe(-1, cpus.front());
    nlohmann::json events = nlohmann::json::array();
    for (const EventDef* e : options.events) {
        const std::string name(e->name);
        nlohmann::json row = {{"name", name}, {"kind", to_string(e->kind)}};
        row["thread"] = thread.count(name) ? thread.at(name) : nlohmann::json{{"supported", false}};
        row["system"] = cpus.empty() ? nlohmann::json{{"supported", false},
                                                      {"reason", "no online CPU list in sysfs"}}
                                     : system.at(name);
        events.push_back(row);
    }
    j["events"] = events;
    return j;
}

std::string render_counters_doctor(const nlohmann::json& doctor) {
    std::ostringstream out;
    out << "counters (perf_event_open)\n  core PMUs: ";
    const auto& pmus = doctor.value("pmus", nlohmann::json::array());
    if (pmus.empty()) out << "none visible (hardware events cannot be counted)";
    for (size_t i = 0; i < pmus.size(); ++i)
        out << (i ? ", " : "") << pmus[i].value("name", "?") << " (type "
            << pmus[i].value("type", 0u) << ")";
    if (doctor.value("hybrid", false)) out << " -- hybrid: events summed over PMUs";
    out << "\n  perf_event_paranoid: ";
    if (doctor.contains("perf_event_paranoid") && doctor["perf_event_paranoid"].is_number())
        out << doctor["perf_event_paranoid"].get<int>();
    else
        out << "unknown";
    out << "\n";
    std::vector<std::string> reasons;
    auto cell = [&](const nlohmann::json& e) -> std::string {
        if (e.value("supported", false)) return "counted";
        const std::string reason = e.value("reason", "unknown");
        size_t idx = 0;
        while (idx < reasons.size() && reasons[idx] != reason)
            ++idx;
        if (idx == reasons.size()) reasons.push_back(reason);
        return "unsupported [" + std::to_string(idx + 1) + "]";
    };
    char line[160];
    std::snprintf(line, sizeof(line), "  %-24s %-9s %-18s %s\n", "event", "kind", "per-thread",
                  "system-wide");
    out << line;
    for (const auto& e : doctor.value("events", nlohmann::json::array())) {
        const std::string t = cell(e.value("thread", nlohmann::json::object()));
        const std::string s = cell(e.value("system", nlohmann::json::object()));
        std::snprintf(line, sizeof(line), "  %-24s %-9s %-18s %s\n", e.value("name", "?").c_str(),
                      e.value("kind", "?").c_str(), t.c_str(), s.c_str());
        out << line;
    }
    for (size_t i = 0; i < reasons.size(); ++i)
        out << "  [" << i + 1 << "] " << reasons[i] << "\n";
    return out.str();
}

std::string counters_summary(const nlohmann::json& counters) {
    if (!counters.is_object()) return "counters: none";
    const nlohmann::json& derived = counters.value("derived", nlohmann::json::object());
    const char* scope = derived.contains("thread") ? "thread" : "system";
    const nlohmann::json& d = derived.value(scope, nlohmann::json::object());
    auto num = [&](const char* key) -> std::optional<double> {
        if (d.contains(key) && d[key].is_number()) return d[key].get<double>();
        return std::nullopt;
    };
    std::vector<std::string> parts;
    if (auto v = num("cpu_seconds_per_gib"))
        parts.push_back(std::string(std::string(scope) == "thread" ? "task-clock" : "busy") + " " +
                        significant(*v, 3) + " CPU-s/GiB");
    if (auto v = num("context_switches_per_second")) parts.push_back(fixed(*v, 0) + " cs/s");
    if (auto v = num("cycles_per_byte")) parts.push_back(fixed(*v, 2) + " cycles/B");
    if (auto v = num("instructions_per_byte")) parts.push_back(fixed(*v, 2) + " instr/B");
    // Hardware events: say plainly when none could be counted, with the errno's name.
    unsigned hw_selected = 0, hw_counted = 0;
    std::string hw_reason;
    const nlohmann::json& roles = counters.value(scope, nlohmann::json::object());
    std::vector<const nlohmann::json*> event_sets;
    if (std::string(scope) == "thread") {
        for (const char* r : {"sender", "receiver"})
            if (roles.contains(r) && roles[r].contains("events"))
                event_sets.push_back(&roles[r]["events"]);
    } else if (roles.contains("events")) {
        event_sets.push_back(&roles["events"]);
    }
    for (const auto& name : counters.value("events", nlohmann::json::array())) {
        const EventDef* def = find_event(name.get<std::string>());
        if (!def || !uses_cpu_pmu(*def)) continue;
        ++hw_selected;
        bool ok = !event_sets.empty();
        for (const auto* events : event_sets) {
            const auto& e = events->value(def->name, nlohmann::json::object());
            if (e.contains("unsupported")) {
                ok = false;
                if (hw_reason.empty()) hw_reason = e["unsupported"].get<std::string>();
            } else if (!e.contains("value")) {
                ok = false;
            }
        }
        hw_counted += ok;
    }
    if (hw_selected > 0 && hw_counted == 0) {
        const std::string code = hw_reason.substr(0, hw_reason.find(' '));
        parts.push_back("hw: unsupported" + (code.empty() ? "" : " (" + code + ")"));
    } else if (hw_counted < hw_selected) {
        parts.push_back("hw: " + std::to_string(hw_selected - hw_counted) + " of " +
                        std::to_string(hw_selected) + " unsupported");
    }
    if (parts.empty()) return "counters: no figures";
    std::string out;
    for (const auto& p : parts)
        out += (out.empty() ? "" : ", ") + p;
    return out;
}

} // namespace copyscope
