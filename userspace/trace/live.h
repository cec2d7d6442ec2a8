#pragma once
// The live view of `copyscope trace` on stderr, every --interval: the scope's totals and the
// busiest connections (bytes moved since the last view) with their processes. On a terminal
// the block is redrawn in place (like tcptop or top); otherwise one plain line per interval;
// nothing with --quiet.
#include <cstdio>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "trace/assemble.h"

namespace copyscope {

class LiveView {
  public:
    enum class Mode { quiet, lines, terminal };
    explicit LiveView(Mode mode, std::FILE* out = stderr);
    static Mode mode_for(bool quiet, int fd);

    void update(const TraceLedger& ledger, double elapsed_seconds, size_t table_entries,
                size_t table_capacity);
    void done(); // leaves the last block on screen

    // The block as lines (the terminal form), and the one-line form; `rows` is the
    // number of connections shown at most.
    std::vector<std::string> block(const TraceLedger& ledger, double elapsed_seconds,
                                   size_t table_entries, size_t table_capacity, size_t rows = 10);
    std::string line(const TraceLedger& ledger, double elapsed_seconds) const;

  private:
    using Key = std::tuple<uint32_t, int, std::string, uint16_t, std::string, uint16_t>;
    Mode mode_;
    std::FILE* out_;
    size_t drawn_ = 0;
    double last_elapsed_ = 0;
    std::map<Key, std::pair<uint64_t, uint64_t>> last_; // sent, received at the last view
};

} // namespace copyscope
