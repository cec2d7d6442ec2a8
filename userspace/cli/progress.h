#pragma once
// Progress of a run on stderr: one line redrawn in place on a terminal (cell k of n, the
// cell, repetitions so far, elapsed, ETA), plain log lines otherwise, nothing when quiet.
#include <chrono>
#include <cstdio>
#include <string>

#include "model/cell.h"

namespace copyscope {

class Progress {
  public:
    enum class Mode { quiet, lines, terminal };
    Progress(size_t cells, Mode mode, std::FILE* out = stderr);
    static Mode mode_for(bool quiet, int fd);

    void cell_started(size_t index, const CellSpec& spec);
    void repetition(const CellResult& so_far);
    void cell_finished(const CellResult& result);
    void done(); // ends the terminal line

    static std::string describe(const CellSpec& spec);
    static std::string duration(double seconds); // 42s, 3m05s

  private:
    std::string head() const;
    std::string timing() const;

    size_t cells_;
    Mode mode_;
    std::FILE* out_;
    size_t index_ = 0;
    size_t finished_ = 0;
    std::string current_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace copyscope
