#pragma once
// A figure that is either measured, with the evidence behind it, or unsupported, with the
// reason. Every figure copyscope reports takes this shape: a count the kernel cannot give is
// "unsupported: why", never a 0 in disguise.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace copyscope {

// exact: counted where the kernel does the work (fexit on the copy function, the copy
// tracepoint). inferred: derived from what neighbouring hooks saw and a model of the kernel.
enum class Evidence { exact, inferred };

std::string_view to_string(Evidence e);
std::optional<Evidence> evidence_from_string(std::string_view text);
// The evidence of a figure computed from two others: inferred if either is.
Evidence weaker(Evidence a, Evidence b);

// Converts to an unsupported Measured<T> of any T: `return Unsupported{"no BTF"};`.
struct Unsupported {
    std::string reason;
};

template <class T> class Measured {
  public:
    // Default: nothing was measured at all.
    Measured() : reason_("not measured") {}
    Measured(T value, Evidence evidence = Evidence::exact, std::string source = {})
        : value_(std::move(value)), evidence_(evidence), source_(std::move(source)) {}
    Measured(Unsupported u) : reason_(std::move(u.reason)) {}

    bool supported() const { return value_.has_value(); }
    explicit operator bool() const { return supported(); }

    // The value; only when supported().
    const T& value() const { return *value_; }
    T& value() { return *value_; }
    const T& operator*() const { return *value_; }
    const T* operator->() const { return &*value_; }
    T* operator->() { return &*value_; }
    T value_or(T fallback) const { return value_ ? *value_ : std::move(fallback); }

    Evidence evidence() const { return evidence_; }
    // How it was obtained: the hook or counter it came from (may be empty).
    const std::string& source() const { return source_; }
    // Why it is unsupported; empty when supported.
    const std::string& reason() const { return reason_; }

    // Another value measured the same way: same evidence and source, or the same reason
    // for being unsupported.
    template <class U> Measured<U> with(U value) const {
        if (!supported()) return Unsupported{reason_};
        return Measured<U>(std::move(value), evidence_, source_);
    }

    bool operator==(const Measured&) const = default;

  private:
    std::optional<T> value_;
    Evidence evidence_ = Evidence::exact;
    std::string source_;
    std::string reason_;
};

} // namespace copyscope
