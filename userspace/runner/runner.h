#pragma once
// Runs cells: lab up -> observers told -> sender/receiver threads -> counts -> checks ->
// observers add their parts -> lab down.
#include <atomic>
#include <functional>
#include <vector>

#include "model/cell.h"
#include "model/observer.h"
#include "runner/placement.h"

namespace copyscope {

struct RunnerOptions {
    // Set from a signal handler: senders stop after their current message.
    const std::atomic<bool>* stop = nullptr;
    int socket_timeout_seconds = 10;
    // Where each connection's sender and receiver threads run.
    CpuPlacement cpu_placement = CpuPlacement::auto_;
    // Called after each counted repetition with the cell's samples so far (for progress).
    std::function<void(const CellResult& so_far)> on_repetition;
};

// Runs one cell. Failures inside the cell (a send that failed, a missing completion) are
// recorded in the result; a lab that cannot be set up throws RunError.
CellResult run_cell(const CellSpec& spec, const std::vector<CellObserver*>& observers,
                    const RunnerOptions& options = {});

// The runner's own checks of a finished cell (bytes conserved, payload, completions).
std::vector<Check> runner_checks(const CellResult& result);

} // namespace copyscope
