#include <gtest/gtest.h>

#include "cli/size.h"
#include "common/errors.h"

using copyscope::parse_size;
using copyscope::UsageError;

TEST(ParseSize, PlainBytes) {
    EXPECT_EQ(parse_size("64", "--size"), 64u);
    EXPECT_EQ(parse_size("0", "--size"), 0u);
    EXPECT_EQ(parse_size("8B", "--size"), 8u);
}

TEST(ParseSize, BinarySuffixesInAnySpelling) {
    for (const char* s : {"4K", "4k", "4KB", "4KiB", "4kib", "4Ki"})
        EXPECT_EQ(parse_size(s, "--size"), 4096u) << s;
    EXPECT_EQ(parse_size("64KiB", "--size"), 65536u);
    EXPECT_EQ(parse_size("1M", "--size"), 1048576u);
    EXPECT_EQ(parse_size("1MiB", "--size"), 1048576u);
    EXPECT_EQ(parse_size("2G", "--bytes"), 2ull << 30);
}

TEST(ParseSize, RejectsGarbageNamingTheValue) {
    for (const char* s : {"", "K", "-1", "abc", "4X", "1.5K", "4KK", "K4"}) {
        try {
            parse_size(s, "--size");
            FAIL() << "accepted '" << s << "'";
        } catch (const UsageError& e) {
            std::string what = e.what();
            EXPECT_NE(what.find("--size"), std::string::npos) << what;
            EXPECT_NE(what.find(std::string("'") + s + "'"), std::string::npos) << what;
            EXPECT_NE(what.find("allowed"), std::string::npos) << what;
        }
    }
}

TEST(ParseSize, RejectsOverflow) {
    EXPECT_THROW(parse_size("99999999999999999999", "--bytes"), UsageError);
    EXPECT_THROW(parse_size("17179869184G", "--bytes"), UsageError);
}
