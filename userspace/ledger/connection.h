#pragma once
// The ledger of one traced connection (`copyscope trace`), from the kernel's counts for its
// socket: the same figures as a cell's ledger (ByteFigures, each taking the evidence of the
// hook that counts it, or its reason for counting nothing), read the same way (the deferred
// copy per the deferred hook's form, copy_model.h), plus what a traced program's connection
// adds: bytes sent by reference, the completions the program read, where its zerocopy pages
// were copied later. Sums for a process and the scope, and the verdict in words. Pure.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "model/hook.h"
#include "model/kernel_counts.h"
#include "model/trace.h"

namespace copyscope {

// One connection's counts as the per-socket table holds them.
struct SocketCounts {
    TraceProtocol protocol = TraceProtocol::tcp;
    uint64_t netns = 0; // the socket's own namespace
    KernelCounts own;   // counted in its own namespace's entry
    // What its zerocopy skbs met in other namespaces (received, forwarded, copied).
    std::vector<std::pair<uint64_t, KernelCounts>> elsewhere;
};

// What the kernel lets the figures say beyond the hooks.
struct TraceKernel {
    // sendfile/splice reach tcp_sendmsg_locked as MSG_SPLICE_PAGES (6.5+); before, through
    // do_tcp_sendpages, which the send hook does not see.
    bool splice_pages_at_send = true;
};

TraceFigures connection_figures(const std::vector<HookUse>& hooks, const SocketCounts& counts,
                                const TraceKernel& kernel = {});

// The sum of several connections' figures: a figure is supported when it is for every one
// (else unsupported, naming how many lack it and why), with the weakest evidence.
TraceFigures sum_figures(const std::vector<const TraceFigures*>& parts);

// The verdict on a connection in words: how its bytes were sent (copied, by reference,
// pinned), where its pinned pages were copied later, what it received, with "inferred"
// where a figure is. `peer`: the connection at the other end when it is traced too.
std::string connection_verdict(const ConnectionLedger& c, const ConnectionLedger* peer = nullptr,
                               const std::string& peer_process = "");

// Decimal units for people: "977.5 MB", "37 B".
std::string human_bytes(uint64_t bytes);

} // namespace copyscope
