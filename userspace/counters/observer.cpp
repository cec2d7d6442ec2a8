// The counters' CellObserver: opens the events per thread (pid 0, on the thread itself) and
// per CPU, enables and reads them around the cell, and gives result.counters.
#include <mutex>
#include <sys/resource.h>
#include <thread>
#include <unordered_map>

#include "counters/counters.h"

namespace copyscope {
namespace {

using Totals = std::map<std::string, EventTotal>;

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

// One fd per event, CPU and PMU: a large machine needs more than the usual soft limit of
// 1024, and the hard limit is ours to take.
void raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
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
            result.counters.reset();
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
        result.counters = counter_result(snap_, result.app.bytes_sent, result.seconds);
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

std::unique_ptr<CellObserver> make_counters(const CounterOptions& options) {
    return std::make_unique<CountersObserver>(options);
}

} // namespace copyscope
