#include "compare/metrics.h"

#include <algorithm>
#include <iterator>

#include "report/json_read.h"
#include "stats/stats.h"

namespace copyscope {
namespace {

constexpr double kMiB = 1 << 20;
const char* const kNoLedger = "no ledger (run without the tracer)";

template <class T> Figure figure_from(const Measured<T>& m, const std::string& absent_why) {
    if (m) return Figure::number_of(double(*m));
    if (m.reason() == not_in_report) return Figure::absent_because(absent_why);
    return Figure::unsupported_because(m.reason());
}

// ---- throughput and latency ------------------------------------------------------------------

// The mean over repetitions with its 95% interval; a report without samples has the rate of
// its bytes over its seconds.
Figure throughput(const CellResult& c) {
    const Summary s = summarize(c.throughput.samples);
    if (s.n == 0) {
        if (c.seconds <= 0) return Figure::absent_because("no throughput in the report");
        return Figure::number_of(c.gbits_per_second());
    }
    Figure f = Figure::number_of(s.mean);
    if (s.n >= 2) f.ci95 = Interval{s.mean - s.ci95_half, s.mean + s.ci95_half};
    return f;
}

MetricDef latency(const char* key, const char* label, double LatencyStats::*field, Direction d) {
    return {"latency",
            key,
            label,
            "us",
            d,
            false,
            [field](const CellResult& c) {
                if (!c.latency) return Figure::absent_because("no latency measured");
                return Figure::number_of((*c.latency).*field);
            },
            [](const CellResult& c) { return c.latency.has_value(); }};
}

void add_stream(std::vector<MetricDef>& t) {
    t.push_back({"throughput",
                 "gbit_per_second",
                 "throughput",
                 "Gbit/s",
                 Direction::higher_is_better,
                 true,
                 throughput,
                 {}});
    t.push_back({"throughput",
                 "mib_sent",
                 "sent",
                 "MiB",
                 Direction::informational,
                 false,
                 [](const CellResult& c) { return Figure::number_of(c.app.bytes_sent / kMiB); },
                 {}});
    // The maximum is one sample: shown, never judged.
    t.push_back(latency("p50_us", "latency p50", &LatencyStats::p50, Direction::lower_is_better));
    t.push_back(latency("p90_us", "latency p90", &LatencyStats::p90, Direction::lower_is_better));
    t.push_back(latency("p99_us", "latency p99", &LatencyStats::p99, Direction::lower_is_better));
    t.push_back(
        latency("p999_us", "latency p99.9", &LatencyStats::p999, Direction::lower_is_better));
    t.push_back(
        latency("mean_us", "latency mean", &LatencyStats::mean, Direction::lower_is_better));
    t.push_back(latency("max_us", "latency max", &LatencyStats::max, Direction::informational));
}

// ---- the copy ledger ---------------------------------------------------------------------------

// The bytes the ledger's figures are divided by: what the application sent.
uint64_t app_bytes(const CellResult& c) {
    return c.ledger->app_bytes_sent ? c.ledger->app_bytes_sent : c.app.bytes_sent;
}

// A ledger figure per byte sent (scale 1) or per MiB sent (scale 2^20).
Figure per_byte(const CellResult& c, const Measured<uint64_t>& m, std::string_view key,
                double scale) {
    Figure f = figure_of(m, "no " + std::string(key) + " in the ledger");
    if (!f.is_number()) return f;
    if (app_bytes(c) == 0) return Figure::unsupported_because("no bytes were sent");
    return Figure::number_of(f.value / double(app_bytes(c)) * scale);
}

MetricDef ledger(std::string name, std::string label, Direction d,
                 std::function<Figure(const CellResult&)> from_ledger) {
    return {"ledger",
            std::move(name),
            std::move(label),
            "",
            d,
            false,
            [from_ledger](const CellResult& c) {
                if (!c.ledger) return Figure::absent_because(kNoLedger);
                return from_ledger(c);
            },
            {}};
}

void add_ledger(std::vector<MetricDef>& t) {
    t.push_back(ledger(
        "copies_per_byte", "copies per byte", Direction::lower_is_better, [](const CellResult& c) {
            return figure_of(c.ledger->copies_per_byte, "no copies_per_byte in the ledger");
        }));
    t.push_back(ledger(
        "user_copy_bytes", "user copy /B", Direction::lower_is_better, [](const CellResult& c) {
            return per_byte(c, Measured<uint64_t>(c.ledger->user_copy_bytes), "user_copy_bytes", 1);
        }));
    for (const ByteFigureDef& def : byte_figures) {
        const double scale = def.key.ends_with("_bytes") ? 1 : kMiB;
        t.push_back(ledger(std::string(def.key), byte_figure_label(def.key),
                           byte_figure_direction(def.key), [def, scale](const CellResult& c) {
                               return per_byte(c, c.ledger->figures.*def.field, def.key, scale);
                           }));
    }
    t.push_back(ledger("deferred_copy_percent", "deferred % of pinned", Direction::lower_is_better,
                       [](const CellResult& c) {
                           const auto& p = c.ledger->deferred_copy_percent;
                           return p ? Figure::number_of(*p)
                                    : Figure::absent_because("nothing pinned");
                       }));
    t.back().unit = "%";
}

// The kernel's own word on MSG_ZEROCOPY: the share of completions flagged COPIED.
Figure copied_share(const CellResult& c) {
    if (!c.zerocopy) return Figure::absent_because("no MSG_ZEROCOPY sends in this cell");
    if (c.zerocopy->completions == 0)
        return Figure::unsupported_because("no zerocopy completions arrived");
    return Figure::number_of(100.0 * double(c.zerocopy->completions_copied) /
                             double(c.zerocopy->completions));
}

// ---- perf counters -----------------------------------------------------------------------------

struct CounterLook {
    std::string_view key;
    const char* label;
    const char* unit;
    Direction direction; // in the thread scope; the system scope counts other work too
};

// Rates that follow throughput (context switches per second) are shown, never judged.
constexpr CounterLook kCounterLooks[] = {
    {"cpu_seconds_per_gib", "CPU-s/GiB", "CPU-s/GiB", Direction::lower_is_better},
    {"cycles_per_byte", "cycles/B", "cycles/B", Direction::lower_is_better},
    {"instructions_per_byte", "instructions/B", "instructions/B", Direction::lower_is_better},
    {"cache_misses_per_kib", "cache misses/KiB", "misses/KiB", Direction::lower_is_better},
    {"context_switches_per_second", "context switches/s", "cs/s", Direction::informational},
};

// One scope's derived figure, or why there is none.
Figure counter_figure(const CellResult& c, bool thread, const DerivedFigureDef& def) {
    if (!c.counters) return Figure::absent_because("perf counters not measured");
    const CounterResult& k = *c.counters;
    const auto& derived = thread ? k.derived_thread : k.derived_system;
    if (derived) return figure_of((*derived).*def.field, "not measured");
    if (!thread && k.system && !*k.system) return Figure::unsupported_because(k.system->reason());
    return Figure::absent_because(std::string(thread ? "thread" : "system") +
                                  " counters not measured");
}

void add_counters(std::vector<MetricDef>& t) {
    for (const bool thread : {true, false}) {
        const std::string scope = thread ? "thread" : "system";
        for (const DerivedFigureDef& def : derived_figures) {
            auto look = std::find_if(std::begin(kCounterLooks), std::end(kCounterLooks),
                                     [&](const CounterLook& l) { return l.key == def.key; });
            const bool known = look != std::end(kCounterLooks);
            t.push_back(
                {"counters",
                 scope + "." + std::string(def.key),
                 scope + " " + (known ? look->label : std::string(def.key)),
                 known ? look->unit : "",
                 known && thread ? look->direction : Direction::informational,
                 false,
                 [thread, def](const CellResult& c) { return counter_figure(c, thread, def); },
                 {}});
        }
    }
}

// ---- the tracer's own cost ---------------------------------------------------------------------

// The tracer's cost, not the path's: shown, never judged.
MetricDef tracer(std::string name, std::string label, std::string unit,
                 Measured<double> TracerCostShare::*field) {
    return {"tracer",
            std::move(name),
            std::move(label),
            std::move(unit),
            Direction::informational,
            false,
            [field](const CellResult& c) {
                if (!c.tracer_cost)
                    return Figure::absent_because("no tracer cost (not traced, or by a "
                                                  "copyscope that did not measure it)");
                if (!*c.tracer_cost) return Figure::unsupported_because(c.tracer_cost->reason());
                return figure_of((*c.tracer_cost_share()).*field, "not measured");
            },
            [](const CellResult& c) { return c.tracer_cost.has_value(); }};
}

std::vector<MetricDef> build_table() {
    std::vector<MetricDef> t;
    add_stream(t);
    add_ledger(t);
    t.push_back({"zerocopy", "completions_copied_percent", "COPIED completions", "%",
                 Direction::lower_is_better, false, copied_share,
                 [](const CellResult& c) { return c.zerocopy.has_value(); }});
    add_counters(t);
    t.push_back(tracer("bpf_ns_per_byte", "bpf ns/B", "", &TracerCostShare::ns_per_byte));
    t.push_back(tracer("bpf_cpu_percent", "bpf % of CPU", "%", &TracerCostShare::cpu_percent));
    return t;
}

} // namespace

Figure figure_of(const Measured<double>& m, const std::string& absent_why) {
    return figure_from(m, absent_why);
}

Figure figure_of(const Measured<uint64_t>& m, const std::string& absent_why) {
    return figure_from(m, absent_why);
}

std::string byte_figure_label(std::string_view key) {
    const bool bytes = key.ends_with("_bytes");
    std::string label(bytes ? key.substr(0, key.size() - 6) : key);
    std::replace(label.begin(), label.end(), '_', ' ');
    return label + (bytes ? " /B" : " /MiB");
}

Direction byte_figure_direction(std::string_view key) {
    // Where the kernel copied: fewer is better.
    for (std::string_view copy :
         {"user_copy_bytes", "kernel_send_copy_bytes", "zerocopy_fallback_bytes",
          "deferred_copy_bytes", "receive_copy_bytes"})
        if (key == copy) return Direction::lower_is_better;
    return Direction::informational;
}

const std::vector<MetricDef>& metric_table() {
    static const std::vector<MetricDef> table = build_table();
    return table;
}

} // namespace copyscope
