#pragma once
// SIGINT and SIGTERM while tracing: copyscope must not die of them (the report is still
// to be written); it passes them on to the traced command and lets a poll loop know.
//
// A signal the terminal generates (Ctrl-C: si_code SI_KERNEL) already reaches COMMAND
// through the foreground process group it shares with copyscope, so only signals sent to
// copyscope by a process (kill: SI_USER, SI_QUEUE, SI_TKILL) are forwarded; COMMAND sees
// each signal once.
#include <csignal>

namespace copyscope {

class SignalForwarder {
  public:
    // Installs the handlers (one forwarder at a time: a second is a logic_error).
    SignalForwarder();
    ~SignalForwarder(); // restores the handlers that were there before
    SignalForwarder(const SignalForwarder&) = delete;
    SignalForwarder& operator=(const SignalForwarder&) = delete;

    // Where to forward from now on: a pidfd (ChildProcess::pidfd()), or -1 for nowhere
    // (--pid/--cgroup/--netns: the signal only ends the trace).
    void forward_to(int pidfd);
    // The last SIGINT/SIGTERM received (0: none yet).
    int received() const;
    // Becomes readable (POLLIN) when a signal has been received; stays readable.
    int wake_fd() const;
};

} // namespace copyscope
