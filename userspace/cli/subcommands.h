#pragma once
// The subcommands of copyscope, each added to the command line by one function. A new
// subcommand is one more add_*_command() and one line in parse_command_line's list.
#include <functional>

#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace copyscope {

// A subcommand: its CLI11 app, and what turns the options it parsed into a Command
// (validation happens there: every bad value a UsageError, raised before anything starts).
struct Subcommand {
    CLI::App* app = nullptr;
    std::function<Command()> finish;
    // Parse errors point to `copyscope NAME --help` rather than `copyscope --help`.
    bool own_help_hint = false;
};

Subcommand add_run_command(CLI::App& app);     // run_command.cpp
Subcommand add_doctor_command(CLI::App& app);  // cli.cpp
Subcommand add_sink_command(CLI::App& app);    // cli.cpp
Subcommand add_compare_command(CLI::App& app); // cli.cpp
Subcommand add_trace_command(CLI::App& app);   // trace_command.cpp

} // namespace copyscope
