#pragma once
// The command line: `copyscope run ...` and `copyscope doctor ...`, parsed with CLI11 and
// validated into a plan. Every bad value is a UsageError (exit 2) naming the value and
// what is allowed, raised before anything is started.
#include <string>
#include <variant>
#include <vector>

#include "model/cell.h"

namespace copyscope {

inline constexpr unsigned kMaxThreads = 256;
inline constexpr double kMaxDurationSeconds = 3600;

// Defaults of a cell's measurement (see CellSpec).
inline constexpr double kDefaultRepetitionSeconds = 0.3;
inline constexpr double kDefaultWarmupSeconds = 0.2;
inline constexpr unsigned kDefaultMinRepetitions = 3;
inline constexpr unsigned kDefaultMaxRepetitions = 10;
inline constexpr double kDefaultPrecisionPercent = 3.0;
inline constexpr unsigned kMaxRepetitions = 1000;

// Named plans. Explicit --strategy/--size/--threads/--transport lists override the
// preset's own list for that dimension.
struct Preset {
    const char* name;
    const char* description;
    std::vector<Strategy> strategies;
    std::vector<uint64_t> sizes;
    std::vector<unsigned> threads;
    std::vector<Transport> transports;
};
const std::vector<Preset>& presets();

struct RunCommand {
    std::vector<CellSpec> plan;
    std::string preset = "quick";
    std::string output = "copyscope-report.json";
    std::string csv; // empty: no CSV
    bool quiet = false;
    bool trace = true;
    std::string hooks = "auto";        // validated by the tracer
    std::string counters = "default";  // validated by the counters
    std::string counter_scope = "both";
};

struct DoctorCommand {
    bool json = false;
};

struct SinkCommand {
    std::string listen = "127.0.0.1:5201";
    unsigned connections = 0;
    double idle_timeout_seconds = 60;
    bool quiet = false;
};

// What to do after parsing: run, doctor, or exit at once with a status (help, version).
struct ExitNow {
    int status = 0;
};

struct CompareCommand {
    std::string baseline, candidate;
    double threshold_percent = 5.0;
    bool json = false;
};

using Command = std::variant<RunCommand, DoctorCommand, SinkCommand, CompareCommand, ExitNow>;

// Parses argv (argv[0] is the program name). Help and version print to stdout and give
// ExitNow{0}. Throws UsageError for anything invalid.
Command parse_command_line(const std::vector<std::string>& args);

// The plan of cells for these lists, in a stable order: transport, strategy, size, threads.
// The plan of cells: every combination of the lists, each cell a copy of `prototype`.
std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, const CellSpec& prototype);

} // namespace copyscope
