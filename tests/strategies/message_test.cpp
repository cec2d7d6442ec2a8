#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "strategies/message.h"

using namespace copyscope;

TEST(SplitFields, EvenSplitRemainderInLast) {
    auto s = split_fields(64);
    for (size_t f : s) EXPECT_EQ(f, 8u);
    s = split_fields(100); // 12 each, 4 left over
    for (size_t i = 0; i < 7; ++i) EXPECT_EQ(s[i], 12u);
    EXPECT_EQ(s[7], 16u);
    s = split_fields(8);
    for (size_t f : s) EXPECT_EQ(f, 1u);
    s = split_fields(15);
    EXPECT_EQ(s[7], 8u);
    for (size_t size : {8u, 9u, 255u, 4096u, 65537u, 1u << 20}) {
        auto fields = split_fields(size);
        EXPECT_EQ(std::accumulate(fields.begin(), fields.end(), size_t(0)), size);
    }
}

TEST(Message, FieldsAreSeparateAllocationsMatchingTheIovec) {
    Message m(1000);
    EXPECT_EQ(m.size(), 1000u);
    size_t total = 0;
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        EXPECT_EQ(m.iov()[i].iov_base, m.field(i));
        EXPECT_EQ(m.iov()[i].iov_len, m.field_size(i));
        total += m.field_size(i);
        for (size_t j = 0; j < i; ++j) EXPECT_NE(m.field(i), m.field(j));
    }
    EXPECT_EQ(total, 1000u);
}

TEST(Pattern, FillThenVerifyAtAnyOffset) {
    for (uint64_t offset : {0ull, 1ull, 250ull, 251ull, 1000003ull}) {
        std::vector<std::byte> buf(1000);
        fill_pattern(buf.data(), buf.size(), offset);
        EXPECT_EQ(count_pattern_errors(buf.data(), buf.size(), offset), 0u);
        // The same bytes read at another offset are wrong almost everywhere.
        EXPECT_GT(count_pattern_errors(buf.data(), buf.size(), offset + 1), 990u);
    }
}

TEST(Pattern, MessageFillIsTheStreamPattern) {
    Message m(777);
    m.fill_pattern(5000);
    uint64_t offset = 5000;
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        EXPECT_EQ(count_pattern_errors(m.field(i), m.field_size(i), offset), 0u);
        offset += m.field_size(i);
    }
}

TEST(Pattern, CountsEachWrongByte) {
    std::vector<std::byte> buf(600);
    fill_pattern(buf.data(), buf.size(), 42);
    buf[0] ^= std::byte{1};
    buf[300] ^= std::byte{0x80};
    buf[599] ^= std::byte{2};
    EXPECT_EQ(count_pattern_errors(buf.data(), buf.size(), 42), 3u);
}
