#include "report/counters_json.h"

#include "counters/summary.h"
#include "report/measured_json.h"

namespace copyscope {
namespace {

using nlohmann::json;

json event_json(const Measured<EventCount>& m) {
    if (!m) return unsupported_json(m.reason());
    const EventCount& e = *m;
    json j = {{"value", e.value},
              {"unit", e.unit},
              {"kind", e.kind},
              {"raw", e.raw},
              {"running_fraction", e.running_fraction},
              {"scaled", e.scaled}};
    if (!e.pmus.empty()) j["pmus"] = e.pmus;
    if (!e.incomplete.empty()) j["incomplete"] = e.incomplete;
    return j;
}

json events_json(const EventCounts& events) {
    json j = json::object();
    for (const auto& [name, e] : events)
        j[name] = event_json(e);
    return j;
}

json role_json(const Measured<RoleCounts>& role) {
    if (!role) return unsupported_json(role.reason());
    return {{"threads", role->threads}, {"events", events_json(role->events)}};
}

json system_json(const Measured<SystemCounts>& system) {
    if (!system) return unsupported_json(system.reason());
    json j = {{"cpus", system->cpus}, {"events", events_json(system->events)}};
    if (const auto& c = system->cpu_time)
        j["cpu_time"] = {
            {"user_seconds", c->user_seconds},       {"system_seconds", c->system_seconds},
            {"softirq_seconds", c->softirq_seconds}, {"irq_seconds", c->irq_seconds},
            {"steal_seconds", c->steal_seconds},     {"idle_seconds", c->idle_seconds},
            {"busy_seconds", c->busy_seconds},       {"resolution_seconds", c->resolution_seconds}};
    return j;
}

json derived_json(const DerivedFigures& d) {
    json j = json::object();
    for (const DerivedFigureDef& f : derived_figures)
        j[std::string(f.key)] = measured_json(d.*f.field);
    return j;
}

} // namespace

json to_json(const CounterResult& r) {
    json j;
    j["events"] = r.events;
    json scopes = json::array();
    if (r.thread) scopes.push_back("thread");
    if (r.system) scopes.push_back("system");
    j["scopes"] = scopes;
    j["pmus"] = json::array();
    for (const CorePmuName& p : r.pmus)
        j["pmus"].push_back({{"name", p.name}, {"type", p.type}});
    j["hybrid"] = r.hybrid();
    if (r.thread)
        j["thread"] = {{"sender", role_json(r.thread->sender)},
                       {"receiver", role_json(r.thread->receiver)}};
    if (r.system) j["system"] = system_json(*r.system);
    j["derived"] = json::object();
    if (r.derived_thread) j["derived"]["thread"] = derived_json(*r.derived_thread);
    if (r.derived_system) j["derived"]["system"] = derived_json(*r.derived_system);
    j["notes"] = r.notes;
    j["summary"] = counters_summary(r); // the summary table's one-liner
    return j;
}

} // namespace copyscope
