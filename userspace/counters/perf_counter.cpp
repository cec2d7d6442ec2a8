#include "counters/perf_counter.h"

#include <algorithm>
#include <cerrno>
#include <linux/perf_event.h>
#include <map>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace copyscope {
namespace {

int perf_event_open(perf_event_attr& attr, pid_t pid, int cpu, int group_fd) {
    return int(syscall(SYS_perf_event_open, &attr, pid, cpu, group_fd, PERF_FLAG_FD_CLOEXEC));
}

perf_event_attr make_attr(const EventDef& def, uint64_t config, bool leader) {
    perf_event_attr attr{};
    attr.size = sizeof(attr);
    attr.type = def.type;
    attr.config = config;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    // Members follow their leader: enabling the leader with PERF_IOC_FLAG_GROUP starts all.
    attr.disabled = leader ? 1 : 0;
    // Kernel work is the point (the copies happen there), so nothing is excluded.
    return attr;
}

} // namespace

std::optional<double> scaled_value(const EventReading& r) {
    if (r.running == r.enabled) return double(r.value);
    if (r.running == 0) return std::nullopt;
    return double(static_cast<long double>(r.value) * r.enabled / r.running);
}

void EventTotal::add(const EventReading& r, bool scale) {
    ++instances;
    raw += r.value;
    enabled += r.enabled;
    running += r.running;
    if (!scale) {
        value += double(r.value);
        return;
    }
    if (auto v = scaled_value(r))
        value += *v;
    else
        ++never_ran;
}

void EventTotal::add_unsupported(const std::string& reason) {
    if (unsupported.empty()) unsupported = reason;
}

void EventTotal::merge(const EventTotal& o) {
    value += o.value;
    raw += o.raw;
    enabled += o.enabled;
    running += o.running;
    instances += o.instances;
    never_ran += o.never_ran;
    if (!o.unsupported.empty()) add_unsupported(o.unsupported);
}

double EventTotal::running_fraction() const {
    return enabled == 0 ? 1.0 : double(running) / double(enabled);
}

CounterSet CounterSet::open(std::span<const EventDef* const> events, const PmuTopology& pmus,
                            pid_t pid, int cpu) {
    CounterSet set;
    // One group per core PMU for hardware/cache events, one for software events: a group
    // is scheduled as a whole, and software events never multiplex.
    std::map<std::string, int> current_group; // PMU name ("" = software) -> leaders_ index
    for (const EventDef* def : events) {
        Event ev;
        ev.def = def;
        std::vector<const CorePmu*> targets;
        if (uses_cpu_pmu(*def)) {
            for (const auto& pmu : pmus.core)
                if (cpu < 0 || pmu.cpus.empty() ||
                    std::find(pmu.cpus.begin(), pmu.cpus.end(), cpu) != pmu.cpus.end())
                    targets.push_back(&pmu);
            // No core PMU visible: still ask the kernel, so the reason is its own errno.
            if (targets.empty()) targets.push_back(nullptr);
        } else {
            targets.push_back(nullptr);
        }
        for (const CorePmu* pmu : targets) {
            const uint64_t config =
                uses_cpu_pmu(*def) ? pmu_config(def->config, pmu, pmus.hybrid()) : def->config;
            const std::string key = pmu ? pmu->name : (uses_cpu_pmu(*def) ? "cpu?" : "");
            Instance inst;
            inst.pmu = pmu ? pmu->name : "";
            auto it = current_group.find(key);
            if (it != current_group.end()) {
                perf_event_attr attr = make_attr(*def, config, false);
                int fd = perf_event_open(attr, pid, cpu, set.leaders_[size_t(it->second)]);
                if (fd >= 0) {
                    inst.fd.reset(fd);
                    inst.group = it->second;
                }
            }
            int err = 0;
            if (!inst.fd) {
                // The group is full (or there is none yet): this event leads a new one.
                perf_event_attr attr = make_attr(*def, config, true);
                int fd = perf_event_open(attr, pid, cpu, -1);
                if (fd >= 0) {
                    inst.fd.reset(fd);
                    inst.group = int(set.leaders_.size());
                    set.leaders_.push_back(fd);
                    current_group[key] = inst.group;
                } else {
                    err = errno;
                }
            }
            if (inst.fd) {
                ev.instances.push_back(std::move(inst));
            } else if (ev.unsupported.empty()) {
                ev.unsupported = perf_errno_reason(err);
                if (pmu && pmus.hybrid())
                    ev.unsupported = "on " + pmu->name + ": " + ev.unsupported;
            }
        }
        // An event counted on some PMUs but not others would be a silent undercount: read()
        // reports it unsupported. Its open fds stay, as one may lead a group.
        set.events_.push_back(std::move(ev));
    }
    return set;
}

void CounterSet::enable() {
    for (int fd : leaders_) {
        ioctl(fd, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
        ioctl(fd, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
    }
}

void CounterSet::disable() {
    for (int fd : leaders_)
        ioctl(fd, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
}

std::vector<CounterSet::Sample> CounterSet::read() const {
    std::vector<Sample> out;
    for (const auto& ev : events_) {
        Sample s;
        s.def = ev.def;
        s.unsupported = ev.unsupported;
        for (const auto& inst : ev.instances) {
            uint64_t buf[3] = {};
            const ssize_t n = ::read(inst.fd.get(), buf, sizeof(buf));
            if (n != ssize_t(sizeof(buf))) {
                if (s.unsupported.empty())
                    s.unsupported = "read failed: " + perf_errno_reason(n < 0 ? errno : EIO);
                continue;
            }
            s.readings.push_back({inst.pmu, EventReading{buf[0], buf[1], buf[2]}});
        }
        if (!s.unsupported.empty()) s.readings.clear();
        out.push_back(std::move(s));
    }
    return out;
}

} // namespace copyscope
