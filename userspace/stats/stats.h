#pragma once
// Statistics over repetitions of a cell: mean, sample standard deviation, and the 95%
// confidence interval of the mean (Student's t), which decides when a cell has converged.
#include <cstddef>
#include <vector>

namespace copyscope {

struct Summary {
    size_t n = 0;
    double mean = 0;
    double stddev = 0;        // sample standard deviation (n - 1); 0 for n < 2
    double ci95_half = 0;     // half-width of the 95% CI of the mean; 0 for n < 2
    double ci95_relative = 0; // ci95_half / mean; +inf when undefined (n < 2 or mean 0)
    double min = 0;
    double max = 0;
};

Summary summarize(const std::vector<double>& samples);

// Two-sided 95% quantile of Student's t with `df` degrees of freedom (df >= 1).
double student_t95(size_t df);

// True when the 95% CI half-width is within `precision` (a fraction: 0.03 = 3%) of the
// mean, with at least `min_samples` samples.
bool converged(const Summary& s, double precision, size_t min_samples);

// Percentiles of latency samples (nearest-rank on the sorted samples).
struct Percentiles {
    size_t n = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
};
Percentiles percentiles(std::vector<double> samples);

} // namespace copyscope
