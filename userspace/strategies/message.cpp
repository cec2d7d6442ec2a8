#include "strategies/message.h"

#include <cstring>

namespace copyscope {

namespace {

constexpr size_t kPeriod = 251;

// Two periods back to back, so any window of up to kPeriod bytes is one contiguous slice.
struct PatternTable {
    std::byte bytes[2 * kPeriod];
    PatternTable() {
        for (size_t i = 0; i < 2 * kPeriod; ++i)
            bytes[i] = std::byte(i % kPeriod);
    }
};
const PatternTable table;

} // namespace

std::array<size_t, kFieldsPerMessage> split_fields(size_t message_size) {
    std::array<size_t, kFieldsPerMessage> sizes{};
    size_t each = message_size / kFieldsPerMessage;
    sizes.fill(each);
    sizes.back() += message_size % kFieldsPerMessage;
    return sizes;
}

Message::Message(size_t size) : size_(size) {
    auto sizes = split_fields(size);
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        fields_[i] = std::make_unique<std::byte[]>(sizes[i]); // zeroed: pages are touched
        iov_[i] = iovec{fields_[i].get(), sizes[i]};
    }
}

void Message::fill_pattern(uint64_t offset) {
    for (size_t i = 0; i < kFieldsPerMessage; ++i) {
        copyscope::fill_pattern(fields_[i].get(), iov_[i].iov_len, offset);
        offset += iov_[i].iov_len;
    }
}

void fill_pattern(std::byte* dst, size_t len, uint64_t offset) {
    size_t phase = offset % kPeriod;
    while (len > 0) {
        size_t n = std::min(len, kPeriod);
        std::memcpy(dst, table.bytes + phase, n);
        dst += n;
        len -= n;
        // kPeriod bytes later the phase is the same again.
    }
}

uint64_t count_pattern_errors(const std::byte* data, size_t len, uint64_t offset) {
    uint64_t errors = 0;
    size_t phase = offset % kPeriod;
    while (len > 0) {
        size_t n = std::min(len, kPeriod);
        if (std::memcmp(data, table.bytes + phase, n) != 0)
            for (size_t i = 0; i < n; ++i)
                errors += data[i] != table.bytes[phase + i];
        data += n;
        len -= n;
    }
    return errors;
}

} // namespace copyscope
