// The one place numbers are formatted.
#include <gtest/gtest.h>

#include "common/format.h"

namespace copyscope {
namespace {

TEST(Format, Percent) {
    EXPECT_EQ(format_percent(100.0), "100%");
    EXPECT_EQ(format_percent(0.0), "0%");
    EXPECT_EQ(format_percent(50.0), "50%");
    EXPECT_EQ(format_percent(12.34), "12.3%");
    EXPECT_EQ(format_percent(99.7), "99.7%");
    EXPECT_EQ(format_percent(99.99), ">99.9%");
    EXPECT_EQ(format_percent(0.01), "<0.1%");
    EXPECT_EQ(format_percent(0.3), "0.3%");
}

TEST(Format, FixedAndSignificant) {
    EXPECT_EQ(fixed(2.5, 2), "2.50");
    EXPECT_EQ(fixed(24152.58, 0), "24153");
    EXPECT_EQ(fixed(1.0 / 3, 3), "0.333");
    EXPECT_EQ(significant(0.6572467, 3), "0.657");
    EXPECT_EQ(significant(2.516854, 3), "2.52");
    EXPECT_EQ(significant(1.0, 3), "1");
}

TEST(Format, BytesAndSizes) {
    EXPECT_EQ(format_bytes(1048576), "1048576 B");
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_size(64), "64");
    EXPECT_EQ(format_size(4096), "4KiB");
    EXPECT_EQ(format_size(1 << 20), "1MiB");
    EXPECT_EQ(format_size(3 << 20), "3MiB");
    EXPECT_EQ(format_size(1000), "1000");
    EXPECT_EQ(format_size(1536), "1536"); // 1.5 KiB: no exact binary unit
}

} // namespace
} // namespace copyscope
