#include <gtest/gtest.h>

#include <cmath>

#include "stats/stats.h"

using namespace copyscope;

TEST(Stats, MeanStddevAndConfidenceIntervalOnKnownSamples) {
    // mean 5, sample variance 32/7, t(7) = 2.365
    Summary s = summarize({2, 4, 4, 4, 5, 5, 7, 9});
    EXPECT_EQ(s.n, 8u);
    EXPECT_DOUBLE_EQ(s.mean, 5.0);
    EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);
    EXPECT_NEAR(s.ci95_half, 2.365 * std::sqrt(32.0 / 7.0) / std::sqrt(8.0), 1e-9);
    EXPECT_NEAR(s.ci95_relative, s.ci95_half / 5.0, 1e-12);
    EXPECT_EQ(s.min, 2.0);
    EXPECT_EQ(s.max, 9.0);
}

TEST(Stats, OneSampleHasNoInterval) {
    Summary s = summarize({3.5});
    EXPECT_EQ(s.mean, 3.5);
    EXPECT_EQ(s.stddev, 0.0);
    EXPECT_TRUE(std::isinf(s.ci95_relative));
    EXPECT_FALSE(converged(s, 0.5, 1));
    EXPECT_TRUE(std::isinf(summarize({}).ci95_relative));
}

TEST(Stats, ConvergenceNeedsPrecisionAndEnoughSamples) {
    Summary tight = summarize({10.0, 10.1, 9.9, 10.0});
    EXPECT_TRUE(converged(tight, 0.03, 3));
    EXPECT_FALSE(converged(tight, 0.03, 5)); // too few samples yet
    EXPECT_FALSE(converged(tight, 0.001, 3)); // not that precise
    Summary loose = summarize({5, 15, 8, 12});
    EXPECT_FALSE(converged(loose, 0.03, 3));
    EXPECT_TRUE(converged(summarize({7, 7, 7}), 0.03, 3)); // identical samples: zero width
}

TEST(Stats, StudentT) {
    EXPECT_DOUBLE_EQ(student_t95(1), 12.706);
    EXPECT_DOUBLE_EQ(student_t95(9), 2.262);
    EXPECT_DOUBLE_EQ(student_t95(30), 2.042);
    EXPECT_DOUBLE_EQ(student_t95(10000), 1.960);
    EXPECT_TRUE(std::isinf(student_t95(0)));
}

TEST(Stats, PercentilesNearestRank) {
    std::vector<double> v;
    for (int i = 1; i <= 1000; ++i) v.push_back(double(i)); // shuffled order must not matter
    std::swap(v[0], v[999]);
    Percentiles p = percentiles(v);
    EXPECT_EQ(p.n, 1000u);
    EXPECT_EQ(p.p50, 500.0);
    EXPECT_EQ(p.p90, 900.0);
    EXPECT_EQ(p.p99, 990.0);
    EXPECT_EQ(p.p999, 999.0);
    EXPECT_EQ(p.max, 1000.0);
    EXPECT_DOUBLE_EQ(p.mean, 500.5);
    Percentiles one = percentiles({42});
    EXPECT_EQ(one.p50, 42.0);
    EXPECT_EQ(one.p999, 42.0);
    EXPECT_EQ(percentiles({}).n, 0u);
}
