#include "stats/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace copyscope {

double student_t95(size_t df) {
    // Two-sided 95% (0.975 quantile) for df = 1..30; the normal 1.96 beyond.
    static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
    if (df == 0) return std::numeric_limits<double>::infinity();
    if (df <= 30) return table[df - 1];
    if (df <= 60) return 2.000;
    if (df <= 120) return 1.980;
    return 1.960;
}

Summary summarize(const std::vector<double>& samples) {
    Summary s;
    s.n = samples.size();
    s.ci95_relative = std::numeric_limits<double>::infinity();
    if (s.n == 0) return s;
    s.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / double(s.n);
    auto [lo, hi] = std::minmax_element(samples.begin(), samples.end());
    s.min = *lo;
    s.max = *hi;
    if (s.n < 2) return s;
    double sq = 0;
    for (double x : samples) sq += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(sq / double(s.n - 1));
    s.ci95_half = student_t95(s.n - 1) * s.stddev / std::sqrt(double(s.n));
    if (s.mean != 0) s.ci95_relative = s.ci95_half / std::fabs(s.mean);
    return s;
}

bool converged(const Summary& s, double precision, size_t min_samples) {
    return s.n >= std::max<size_t>(min_samples, 2) && s.ci95_relative <= precision;
}

Percentiles percentiles(std::vector<double> samples) {
    Percentiles p;
    p.n = samples.size();
    if (samples.empty()) return p;
    std::sort(samples.begin(), samples.end());
    auto rank = [&](double q) {
        // Nearest rank: the smallest sample with at least q of all samples at or below it.
        size_t k = size_t(std::ceil(q * double(samples.size())));
        return samples[std::clamp<size_t>(k, 1, samples.size()) - 1];
    };
    p.p50 = rank(0.50);
    p.p90 = rank(0.90);
    p.p99 = rank(0.99);
    p.p999 = rank(0.999);
    p.max = samples.back();
    p.mean = std::accumulate(samples.begin(), samples.end(), 0.0) / double(samples.size());
    return p;
}

} // namespace copyscope
