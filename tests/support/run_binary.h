#pragma once
// Runs the built copyscope binary as a user would, capturing its exit status and output.
#include <string>
#include <sys/types.h>
#include <vector>

namespace copyscope::testsupport {

struct BinaryResult {
    int status = -1; // exit status, or 128 + signal
    std::string out;
    std::string err;
};

// Runs COPYSCOPE_BINARY with `args`; `as_uid` >= 0 drops to that user first (all
// capabilities gone). Bounded: killed after `timeout_seconds`.
BinaryResult run_copyscope(const std::vector<std::string>& args, int timeout_seconds = 300,
                           int as_uid = -1);

// Starts it in the background (stdout/stderr to /dev/null); returns the pid.
pid_t spawn_copyscope(const std::vector<std::string>& args);

// Waits for `pid` up to `timeout_seconds`, killing it if it runs over; returns its status
// as above.
int wait_for(pid_t pid, int timeout_seconds);

std::string temp_path(const std::string& name);

} // namespace copyscope::testsupport
