#pragma once
// A message: 8 separately heap-allocated fields, the size split evenly with the remainder
// in the last field (as in the original assignment).
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include <sys/uio.h>

namespace copyscope {

inline constexpr size_t kFieldsPerMessage = 8;
inline constexpr uint64_t kMinMessageSize = kFieldsPerMessage; // one byte per field
inline constexpr uint64_t kMaxMessageSize = 16ull << 20;       // 16 MiB

std::array<size_t, kFieldsPerMessage> split_fields(size_t message_size);

class Message {
  public:
    explicit Message(size_t size);
    size_t size() const { return size_; }
    const std::array<iovec, kFieldsPerMessage>& iov() const { return iov_; }
    std::byte* field(size_t i) const { return fields_[i].get(); }
    size_t field_size(size_t i) const { return iov_[i].iov_len; }
    // Fills the fields with the byte pattern for stream offsets [offset, offset + size).
    void fill_pattern(uint64_t offset);

  private:
    size_t size_;
    std::array<std::unique_ptr<std::byte[]>, kFieldsPerMessage> fields_;
    std::array<iovec, kFieldsPerMessage> iov_{};
};

// The payload pattern: the byte at stream offset o is o mod 251 (a prime, so it never lines
// up with power-of-two message or field sizes and a shifted or repeated chunk is caught).
void fill_pattern(std::byte* dst, size_t len, uint64_t offset);
// Number of bytes in [data, data + len) that differ from the pattern at `offset`.
uint64_t count_pattern_errors(const std::byte* data, size_t len, uint64_t offset);

} // namespace copyscope
