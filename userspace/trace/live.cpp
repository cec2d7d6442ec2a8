#include "trace/live.h"

#include <algorithm>
#include <unistd.h>

#include "common/format.h"

namespace copyscope {
namespace {

uint64_t v(const Measured<uint64_t>& m) {
    return m.value_or(0);
}

// A figure for a table cell: its value, "-" when unsupported, "~" marking inferred ones.
std::string cell(const Measured<uint64_t>& m) {
    if (!m) return "-";
    return human_bytes(*m) + (m.evidence() == Evidence::inferred ? "~" : "");
}

std::string pad(const std::string& s, size_t width, bool right = false) {
    if (s.size() >= width) return s.substr(0, width);
    return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string rate(uint64_t bytes, double seconds) {
    if (seconds <= 0) return "-";
    return human_bytes(uint64_t(double(bytes) / seconds)) + "/s";
}

std::string totals_line(const TraceFigures& t) {
    const ByteFigures& f = t.figures;
    return "sent " + cell(t.bytes_sent) + " (copied at send " + cell(f.kernel_send_copy_bytes) +
           ", by reference " + cell(t.sent_by_reference_bytes) + ", pinned " +
           cell(f.zerocopy_pinned_bytes) + ", copied later " + cell(f.deferred_copy_bytes) +
           ")  received " + cell(f.receive_copy_bytes);
}

} // namespace

LiveView::LiveView(Mode mode, std::FILE* out) : mode_(mode), out_(out) {}

LiveView::Mode LiveView::mode_for(bool quiet, int fd) {
    if (quiet) return Mode::quiet;
    return ::isatty(fd) ? Mode::terminal : Mode::lines;
}

std::string LiveView::line(const TraceLedger& ledger, double elapsed) const {
    size_t connections = 0;
    for (const ProcessLedger& p : ledger.processes)
        connections += p.connections.size();
    return "trace " + fixed(elapsed, 0) + "s: " + totals_line(ledger.totals) + "; " +
           std::to_string(connections) + " connections, " +
           std::to_string(ledger.processes.size()) + " processes";
}

std::vector<std::string> LiveView::block(const TraceLedger& ledger, double elapsed, size_t entries,
                                         size_t capacity, size_t rows) {
    struct Row {
        uint64_t moved;
        std::string text;
    };
    const double dt = elapsed - last_elapsed_;
    std::vector<Row> table;
    std::map<Key, std::pair<uint64_t, uint64_t>> now;
    for (const ProcessLedger& p : ledger.processes)
        for (const ConnectionLedger& c : p.connections) {
            const uint64_t sent = v(c.ledger.bytes_sent);
            const uint64_t recv = v(c.ledger.figures.receive_copy_bytes);
            const Key key{p.pid,        int(c.protocol),  c.local.address,
                          c.local.port, c.remote.address, c.remote.port};
            now[key] = {sent, recv};
            const auto before = last_.count(key) ? last_[key] : std::pair<uint64_t, uint64_t>{};
            const uint64_t ds = sent - std::min(sent, before.first);
            const uint64_t dr = recv - std::min(recv, before.second);
            const ByteFigures& f = c.ledger.figures;
            table.push_back(
                {ds + dr, pad(std::to_string(p.pid), 7, true) + " " + pad(p.comm, 15) + " " +
                              pad(std::string(to_string(c.protocol)), 3) + " " +
                              pad(c.local.address + ":" + std::to_string(c.local.port), 21) + " " +
                              pad(c.remote.address + ":" + std::to_string(c.remote.port), 21) +
                              " " + pad(rate(ds, dt), 11, true) + " " +
                              pad(rate(dr, dt), 11, true) + " " +
                              pad(cell(c.ledger.bytes_sent), 9, true) + " " +
                              pad(cell(f.kernel_send_copy_bytes), 9, true) + " " +
                              pad(cell(c.ledger.sent_by_reference_bytes), 9, true) + " " +
                              pad(cell(f.zerocopy_pinned_bytes), 9, true) + " " +
                              pad(cell(f.deferred_copy_bytes), 9, true) + " " +
                              pad(cell(f.receive_copy_bytes), 9, true)});
        }
    std::stable_sort(table.begin(), table.end(),
                     [](const Row& a, const Row& b) { return a.moved > b.moved; });
    std::vector<std::string> out;
    out.push_back("copyscope trace  " + fixed(elapsed, 0) + "s  " +
                  std::to_string(ledger.processes.size()) + " processes, " +
                  std::to_string(table.size()) + " connections  (table " + std::to_string(entries) +
                  "/" + std::to_string(capacity) + ")");
    out.push_back(totals_line(ledger.totals));
    out.push_back(pad("PID", 7, true) + " " + pad("COMM", 15) + " " + pad("P", 3) + " " +
                  pad("LOCAL", 21) + " " + pad("REMOTE", 21) + " " + pad("SENT/s", 11, true) + " " +
                  pad("RECV/s", 11, true) + " " + pad("SENT", 9, true) + " " +
                  pad("COPIED", 9, true) + " " + pad("BYREF", 9, true) + " " +
                  pad("PINNED", 9, true) + " " + pad("LATER", 9, true) + " " +
                  pad("RECEIVED", 9, true));
    for (size_t i = 0; i < table.size() && i < rows; ++i)
        out.push_back(table[i].text);
    if (table.size() > rows)
        out.push_back("... " + std::to_string(table.size() - rows) + " more connections");
    last_ = std::move(now);
    last_elapsed_ = elapsed;
    return out;
}

void LiveView::update(const TraceLedger& ledger, double elapsed, size_t entries, size_t capacity) {
    if (mode_ == Mode::quiet) return;
    if (mode_ == Mode::lines) {
        std::fprintf(out_, "%s\n", line(ledger, elapsed).c_str());
        std::fflush(out_);
        return;
    }
    const std::vector<std::string> lines = block(ledger, elapsed, entries, capacity);
    if (drawn_ > 0) std::fprintf(out_, "\033[%zuF", drawn_); // back to the block's first line
    for (const std::string& l : lines)
        std::fprintf(out_, "\033[K%s\n", l.c_str());
    std::fprintf(out_, "\033[J"); // anything the previous block had below
    drawn_ = lines.size();
    std::fflush(out_);
}

void LiveView::done() {
    drawn_ = 0;
}

} // namespace copyscope
