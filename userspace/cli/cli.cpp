#include "cli/cli.h"

#include "cli/subcommands.h"
#include "common/errors.h"
#include "lab/lab.h"

namespace copyscope {

Subcommand add_doctor_command(CLI::App& app) {
    auto doc = std::make_shared<DoctorCommand>();
    CLI::App* doctor = app.add_subcommand(
        "doctor", "Show what this kernel lets copyscope measure: BTF, hooks, counters");
    doctor->add_flag("--json", doc->json, "Print JSON instead of a table");
    return {doctor, [doc] { return Command(*doc); }};
}

Subcommand add_sink_command(CLI::App& app) {
    auto cmd = std::make_shared<SinkCommand>();
    CLI::App* sink = app.add_subcommand(
        "sink", "Receive for the nic transport: read each connection to its end, answer with "
                "a tally of the bytes, close");
    sink->add_option("--listen", cmd->listen, "IPv4 address and port to listen on")
        ->capture_default_str();
    sink->add_option("--connections", cmd->connections,
                     "Stop after serving this many connections (0: until stopped or idle)")
        ->capture_default_str();
    sink->add_option("--idle-timeout", cmd->idle_timeout_seconds,
                     "Stop when nobody connects for this many seconds")
        ->capture_default_str();
    sink->add_flag("--quiet,-q", cmd->quiet, "Print nothing but errors");
    return {sink, [cmd] {
                parse_peer(cmd->listen); // throws UsageError naming the bad text
                if (!(cmd->idle_timeout_seconds > 0) || cmd->idle_timeout_seconds > 86400)
                    throw UsageError(
                        "--idle-timeout: must be more than 0 and at most 86400 seconds");
                return Command(*cmd);
            }};
}

Subcommand add_compare_command(CLI::App& app) {
    auto cmp = std::make_shared<CompareCommand>();
    CLI::App* compare = app.add_subcommand(
        "compare", "Put two reports side by side: throughput, ledger, counters, hooks, verdicts; "
                   "or two trace reports, by process (comm) and connection (port); "
                   "exit 1 when a metric regressed beyond the threshold");
    compare->add_option("baseline", cmp->baseline, "The report to compare against (A)")->required();
    compare->add_option("candidate", cmp->candidate, "The report to judge (B)")->required();
    compare
        ->add_option("--threshold", cmp->threshold_percent,
                     "Percent change beyond which a metric counts as regressed")
        ->capture_default_str();
    compare->add_flag("--json", cmp->json, "Print JSON instead of a table");
    return {compare, [cmp] { return Command(*cmp); }};
}

namespace {

// CLI11 would call an unknown command a missing one; name it instead.
void reject_unknown_command(const std::vector<Subcommand>& commands,
                            const std::vector<std::string>& args) {
    if (args.size() < 2 || args[1].empty() || args[1][0] == '-') return;
    std::string names;
    for (const Subcommand& c : commands) {
        if (c.app->get_name() == args[1]) return;
        names += (names.empty() ? "" : ", ") + c.app->get_name();
    }
    throw UsageError("unknown command '" + args[1] + "' (allowed: " + names +
                     "; see 'copyscope --help')");
}

} // namespace

Command parse_command_line(const std::vector<std::string>& args) {
    CLI::App app{"copyscope: proves, byte by byte, where the kernel copies the data a program "
                 "sends over TCP"};
    app.name("copyscope");
    app.set_version_flag("--version", std::string("copyscope ") + COPYSCOPE_VERSION);
    app.require_subcommand(1);
    const std::vector<Subcommand> commands = {add_run_command(app), add_doctor_command(app),
                                              add_sink_command(app), add_compare_command(app),
                                              add_trace_command(app)};
    reject_unknown_command(commands, args);

    // `trace [options] -- COMMAND [ARGS...]`: COMMAND's words are never parsed as options.
    std::vector<std::string> traced;
    std::vector<const char*> argv;
    const bool trace = args.size() > 1 && args[1] == "trace";
    for (size_t i = 0; i < args.size(); ++i) {
        if (trace && args[i] == "--") {
            traced.assign(args.begin() + long(i) + 1, args.end());
            if (traced.empty()) throw UsageError("trace: no COMMAND after --");
            break;
        }
        argv.push_back(args[i].c_str());
    }
    try {
        app.parse(int(argv.size()), const_cast<char**>(argv.data()));
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            app.exit(e);
            return ExitNow{0};
        }
        std::string hint = "copyscope --help";
        for (const Subcommand& c : commands)
            if (c.own_help_hint && c.app->parsed())
                hint = "copyscope " + c.app->get_name() + " --help";
        throw UsageError(std::string(e.what()) + " (see '" + hint + "')");
    }
    for (const Subcommand& c : commands)
        if (c.app->parsed()) {
            Command command = c.finish();
            if (auto* t = std::get_if<TraceCommand>(&command)) t->options.request.command = traced;
            return command;
        }
    throw UsageError("A subcommand is required (see 'copyscope --help')"); // CLI11 said so
}

} // namespace copyscope
