#pragma once
// The command line: `copyscope run ...`, `doctor`, `sink`, `compare` and `trace`, parsed with CLI11
// and validated into a command. Every bad value is a UsageError (exit 2) naming the value
// and what is allowed, raised before anything is started.
#include <string>
#include <variant>
#include <vector>

#include "cli/plan.h"
#include "model/cell.h"
#include "runner/placement.h"
#include "trace/session.h"

namespace copyscope {

inline constexpr double kMaxDurationSeconds = 3600;

// Defaults of a cell's measurement (see CellSpec).
inline constexpr double kDefaultRepetitionSeconds = 0.3;
inline constexpr double kDefaultWarmupSeconds = 0.2;
inline constexpr unsigned kDefaultMinRepetitions = 3;
inline constexpr unsigned kDefaultMaxRepetitions = 10;
inline constexpr double kDefaultPrecisionPercent = 3.0;
inline constexpr unsigned kMaxRepetitions = 1000;

struct RunCommand {
    std::vector<CellSpec> plan;
    std::string preset = "quick";
    std::string output = "copyscope-report.json";
    std::string csv; // empty: no CSV
    bool quiet = false;
    bool trace = true;
    std::string hooks = "auto";       // validated by the tracer
    std::string counters = "default"; // validated by the counters
    std::string counter_scope = "both";
    CpuPlacement cpu_placement = CpuPlacement::auto_;
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

struct CompareCommand {
    std::string baseline, candidate;
    double threshold_percent = 5.0;
    bool json = false;
};

struct TraceCommand {
    TraceOptions options; // command_line is filled by main
};

// What to do after parsing: run, doctor, or exit at once with a status (help, version).
struct ExitNow {
    int status = 0;
};

using Command =
    std::variant<RunCommand, DoctorCommand, SinkCommand, CompareCommand, TraceCommand, ExitNow>;

// Parses argv (argv[0] is the program name). Help and version print to stdout and give
// ExitNow{0}. Throws UsageError for anything invalid.
Command parse_command_line(const std::vector<std::string>& args);

} // namespace copyscope
