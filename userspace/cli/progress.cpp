#include "cli/progress.h"

#include <cmath>
#include <unistd.h>

#include "common/format.h"
#include "stats/stats.h"

namespace copyscope {

Progress::Progress(size_t cells, Mode mode, std::FILE* out) : cells_(cells), mode_(mode), out_(out) {}

Progress::Mode Progress::mode_for(bool quiet, int fd) {
    if (quiet) return Mode::quiet;
    return ::isatty(fd) ? Mode::terminal : Mode::lines;
}

std::string Progress::describe(const CellSpec& s) {
    std::string d = std::string(to_string(s.strategy)) + " " + std::string(to_string(s.transport)) +
                    " " + format_size(s.message_size) + " x" + std::to_string(s.threads);
    if (s.pattern != Pattern::stream) d += " " + std::string(to_string(s.pattern));
    return d;
}

std::string Progress::duration(double seconds) {
    long s = std::lround(seconds);
    char buf[32];
    if (s < 60) std::snprintf(buf, sizeof buf, "%lds", s);
    else std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    return buf;
}

std::string Progress::head() const {
    return "[" + std::to_string(index_ + 1) + "/" + std::to_string(cells_) + "] " + current_;
}

std::string Progress::timing() const {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string t = "elapsed " + duration(elapsed);
    if (finished_ > 0)
        t += ", about " + duration(elapsed / double(finished_) * double(cells_ - finished_)) + " left";
    return t;
}

void Progress::cell_started(size_t index, const CellSpec& spec) {
    index_ = index;
    current_ = describe(spec);
    if (mode_ == Mode::terminal) {
        std::fprintf(out_, "\r\033[K%s  warming up  %s", head().c_str(), timing().c_str());
        std::fflush(out_);
    }
}

void Progress::repetition(const CellResult& so_far) {
    if (mode_ != Mode::terminal) return;
    Summary s = summarize(so_far.throughput.samples);
    std::string ci = s.n >= 2 ? " ±" + std::to_string(int(std::lround(s.ci95_relative * 100))) + "%" : "";
    std::fprintf(out_, "\r\033[K%s  rep %zu  %.2f Gbit/s%s  %s", head().c_str(), s.n, s.mean,
                 ci.c_str(), timing().c_str());
    std::fflush(out_);
}

void Progress::cell_finished(const CellResult& r) {
    ++finished_;
    if (mode_ == Mode::quiet) return;
    Summary s = summarize(r.throughput.samples);
    std::string status = !r.error.empty() ? "  FAILED: " + r.error : (r.passed() ? "" : "  CHECK FAILED");
    std::string ci = s.n >= 2 ? " ±" + std::to_string(int(std::lround(s.ci95_relative * 100))) + "%" : "";
    std::string reps = std::to_string(s.n) + (s.n == 1 ? " rep" : " reps");
    if (r.spec.max_repetitions > 1 && !r.throughput.converged) reps += ", not converged";
    if (mode_ == Mode::terminal) {
        std::fprintf(out_, "\r\033[K%s  %.2f Gbit/s%s (%s)%s  %s", head().c_str(),
                     r.gbits_per_second(), ci.c_str(), reps.c_str(), status.c_str(),
                     timing().c_str());
        if (!status.empty()) std::fputc('\n', out_); // keep failures on screen
    } else {
        std::fprintf(out_, "%s: %.2f Gbit/s%s (%s)%s; %s\n", head().c_str(), r.gbits_per_second(),
                     ci.c_str(), reps.c_str(), status.c_str(), timing().c_str());
    }
    std::fflush(out_);
}

void Progress::done() {
    if (mode_ == Mode::terminal) {
        std::fputs("\r\033[K", out_);
        std::fflush(out_);
    }
}

} // namespace copyscope
