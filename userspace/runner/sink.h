#pragma once
// The far end of the nic transport: `copyscope sink` accepts connections, reads each to
// EOF (checking the payload pattern as it goes), then answers with a tally and closes.
// The sender reads the tally, so a cell over a real NIC still proves bytes received ==
// bytes sent. Needs no root.
#include <atomic>
#include <cstdint>
#include <string>

namespace copyscope {

// What a sink sends back after EOF: 16 bytes, two little-endian u64.
struct SinkTally {
    uint64_t bytes = 0;
    uint64_t pattern_errors = 0; // meaningful only when the sender filled the pattern
};
inline constexpr size_t kSinkTallySize = 16;
void encode_tally(const SinkTally& t, unsigned char out[kSinkTallySize]);
SinkTally decode_tally(const unsigned char in[kSinkTallySize]);

struct SinkOptions {
    std::string listen = "127.0.0.1:5201"; // HOST:PORT
    unsigned connections = 0;             // stop after this many (0: until stopped)
    double idle_timeout_seconds = 60;     // stop when nobody connects for this long
    bool quiet = false;
    const std::atomic<bool>* stop = nullptr;
};

// Serves until `connections` were served, the idle timeout, or *stop. Returns 0, or throws
// RunError (e.g. the port is taken).
int run_sink(const SinkOptions& options);

} // namespace copyscope
