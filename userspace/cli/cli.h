#pragma once
// The command line: `copyscope run ...` and `copyscope doctor ...`, parsed with CLI11 and
// validated into a plan. Every bad value is a UsageError (exit 2) naming the value and
// what is allowed, raised before anything is started.
#include <string>
#include <variant>
#include <vector>

#include "report/cell.h"

namespace copyscope {

inline constexpr unsigned kMaxThreads = 256;
inline constexpr double kMaxDurationSeconds = 3600;

struct RunCommand {
    std::vector<CellSpec> plan;
    std::string output = "copyscope-report.json";
    bool quiet = false;
    bool trace = true;
    std::string hooks = "auto";        // validated by the tracer
    std::string counters = "default";  // validated by the counters
    std::string counter_scope = "both";
};

struct DoctorCommand {
    bool json = false;
};

// What to do after parsing: run, doctor, or exit at once with a status (help, version).
struct ExitNow {
    int status = 0;
};

using Command = std::variant<RunCommand, DoctorCommand, ExitNow>;

// Parses argv (argv[0] is the program name). Help and version print to stdout and give
// ExitNow{0}. Throws UsageError for anything invalid.
Command parse_command_line(const std::vector<std::string>& args);

// The plan of cells for these lists, in a stable order: transport, strategy, size, threads.
std::vector<CellSpec> make_plan(const std::vector<Transport>& transports,
                                const std::vector<Strategy>& strategies,
                                const std::vector<uint64_t>& sizes,
                                const std::vector<unsigned>& threads, double duration_seconds,
                                uint64_t bytes, bool verify_payload);

} // namespace copyscope
