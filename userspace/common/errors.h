#pragma once
// Two kinds of failure with their own exit status: a usage error (exit 2, nothing started)
// and a run that failed (exit 1).
#include <stdexcept>
#include <string>

namespace copyscope {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct RunError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "what: strerror(errno)" for system call failures.
std::string errno_message(const std::string& what, int err);

} // namespace copyscope
