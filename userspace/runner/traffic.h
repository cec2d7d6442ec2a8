#pragma once
// A cell's traffic: its connections, each with a sender and a receiver thread, kept for the
// whole cell and driven through phases (the warm-up, then each repetition). Keeping them
// means every repetition measures the same steady stream, without a new handshake, slow
// start, socket buffers growing again and new threads. A phase ends on every connection
// with every byte sent received and every zero-copy completion read, so nothing of one
// phase is still in flight when the next begins, and observers see exactly their phases.
#include <atomic>
#include <barrier>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lab/connections.h"
#include "model/cell.h"
#include "model/observer.h"
#include "runner/placement.h"
#include "runner/runner.h"
#include "strategies/sender.h"

namespace copyscope {

// What every connection did in one phase, summed.
struct PhaseResult {
    AppCounts app;
    std::optional<ZerocopyStats> zerocopy;
    std::optional<IoUringStats> io_uring;
    std::optional<SendfileStats> sendfile;
    std::vector<double> round_trips; // rr: microseconds
    double seconds = 0;              // from the start to the last byte received
    std::string error;               // the first failure, if any
};

// udp: the receiving socket's queue (root may exceed net.core.rmem_max), and how long a
// receiver waits without a datagram or a drop, once the sender is done, before it counts
// the rest as lost elsewhere than its socket.
inline constexpr uint32_t kUdpReceiveBuffer = 4u << 20;
inline constexpr int kUdpQuietMilliseconds = 1000;

// Adds one set of zero-copy notification counts to another.
void add_zerocopy(ZerocopyStats& into, const ZerocopyStats& more);
// The same for io_uring and sendfile counts (levels, such as registered buffers, add up
// over connections).
void add_io_uring(IoUringStats& into, const IoUringStats& more);
void add_sendfile(SendfileStats& into, const SendfileStats& more);
// What `after` adds to `before`, for counts that only grow; levels are taken from `after`.
IoUringStats io_uring_since(const IoUringStats& after, const IoUringStats& before);
SendfileStats sendfile_since(const SendfileStats& after, const SendfileStats& before);

class CellTraffic {
  public:
    // Opens the connections and starts their threads (each pins itself per `placement`).
    // A receiver outside the lab (a sink) learns of the end of a stream only from EOF, so
    // such traffic runs one phase, ended by EOF and the sink's tally.
    CellTraffic(const CellSpec& spec, const Lab& lab, const RunnerOptions& options,
                const ThreadPlacement& placement);
    // Ends the streams (EOF) and joins the threads.
    ~CellTraffic();
    CellTraffic(const CellTraffic&) = delete;
    CellTraffic& operator=(const CellTraffic&) = delete;

    // One phase on every connection at once: `seconds` > 0 sends for that long, else the
    // cell's bytes in whole messages. `observers` see each thread's part of it.
    PhaseResult run(double seconds, const std::vector<CellObserver*>& observers);
    // False once a phase failed or the streams ended: no further phase can run.
    bool usable() const { return usable_; }

  private:
    using Clock = std::chrono::steady_clock;
    struct Flow;
    void sender_main(unsigned index);
    void receiver_main(unsigned index);
    void send_phase(Flow& flow, unsigned index);
    void receive_phase(Flow& flow);
    void receive_datagram_phase(Flow& flow);
    void receive_mapped_phase(Flow& flow);
    void end_stream(Flow& flow, Role role);
    PhaseResult collect(Clock::time_point t0) const;

    const CellSpec& spec_;
    const RunnerOptions& options_;
    ThreadPlacement placement_;
    bool remote_;                           // the receiver is a sink outside the lab
    std::optional<DatagramPlan> datagrams_; // udp
    const NetNs* receiver_ns_ = nullptr;    // udp: where drops are counted
    bool usable_ = true;
    std::vector<std::unique_ptr<Flow>> flows_;
    // Every thread and the runner meet here three times a phase: the phase is set, each
    // thread is ready (observers told), the phase is over.
    std::barrier<> meet_;
    // Set by the runner before the first meeting of a phase.
    double seconds_ = 0;
    const std::vector<CellObserver*>* observers_ = nullptr;
    bool ending_ = false;
    std::vector<std::jthread> threads_;
};

} // namespace copyscope
