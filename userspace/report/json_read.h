#pragma once
// Reading a report back: a JSON value with the path that leads to it, so that whatever is
// missing or of the wrong type is named ("cells[2].ledger.copies_per_byte: expected a
// number, got string"). Errors are UsageError: a bad report is bad input.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/measured.h"

namespace copyscope {

// What an absent figure reads as: reports written by older versions, or trimmed by hand,
// may lack a field.
inline constexpr const char* not_in_report = "not in the report";

class JsonIn {
  public:
    JsonIn(const nlohmann::json& value, std::string path);

    const nlohmann::json& json() const { return *value_; }
    const std::string& path() const { return path_; }
    [[noreturn]] void fail(const std::string& problem) const;

    // Present and not null.
    bool has(const char* key) const;
    // The member; throws when absent or null.
    JsonIn at(const char* key) const;
    // The member, or nullopt when absent or null. Throws when this is not an object.
    std::optional<JsonIn> find(const char* key) const;
    // The elements of an array (throws when this is not one).
    std::vector<JsonIn> elements() const;
    // The members of an object, by key (throws when this is not one).
    std::vector<std::pair<std::string, JsonIn>> members() const;

    // This value as T: bool, std::string, double, uint64_t, int, unsigned,
    // std::vector<std::string>, std::vector<double>, std::vector<int>.
    template <class T> T as() const;
    // The member as T: required, or a fallback when absent or null.
    template <class T> T get(const char* key) const { return at(key).as<T>(); }
    template <class T> T get_or(const char* key, T fallback) const {
        auto v = find(key);
        return v ? v->as<T>() : fallback;
    }
    template <class T> std::optional<T> optional(const char* key) const {
        auto v = find(key);
        return v ? std::optional<T>(v->as<T>()) : std::nullopt;
    }

    // {"unsupported": "why"} -> Unsupported; anything else is the value; absent reads as
    // unsupported, not_in_report.
    template <class T> Measured<T> measured(const char* key) const {
        auto v = find(key);
        if (!v) return Unsupported{not_in_report};
        if (auto why = v->unsupported()) return Unsupported{*why};
        return v->as<T>();
    }
    // This string as an enum, by `from_string` (returns std::optional<E>); `what` names
    // the kind of value in the error.
    template <class E, class F> E as_enum(F from_string, const char* what) const {
        const std::string text = as<std::string>();
        auto v = from_string(text);
        if (!v) fail("unknown " + std::string(what) + " '" + text + "'");
        return *v;
    }

    // The reason when this is {"unsupported": "why"}.
    std::optional<std::string> unsupported() const;

  private:
    const nlohmann::json* value_;
    std::string path_;
};

template <> bool JsonIn::as<bool>() const;
template <> std::string JsonIn::as<std::string>() const;
template <> double JsonIn::as<double>() const;
template <> uint64_t JsonIn::as<uint64_t>() const;
template <> int JsonIn::as<int>() const;
template <> unsigned JsonIn::as<unsigned>() const;
template <> std::vector<std::string> JsonIn::as<std::vector<std::string>>() const;
template <> std::vector<double> JsonIn::as<std::vector<double>>() const;
template <> std::vector<int> JsonIn::as<std::vector<int>>() const;

} // namespace copyscope
