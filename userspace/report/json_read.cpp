#include "report/json_read.h"

#include "common/errors.h"

namespace copyscope {
namespace {

const char* type_name(const nlohmann::json& j) {
    return j.type_name();
}

} // namespace

JsonIn::JsonIn(const nlohmann::json& value, std::string path)
    : value_(&value), path_(std::move(path)) {}

void JsonIn::fail(const std::string& problem) const {
    throw UsageError((path_.empty() ? std::string("report") : path_) + ": " + problem);
}

bool JsonIn::has(const char* key) const {
    return value_->is_object() && value_->contains(key) && !value_->at(key).is_null();
}

JsonIn JsonIn::at(const char* key) const {
    auto v = find(key);
    if (!v) fail(std::string("missing \"") + key + "\"");
    return *v;
}

std::optional<JsonIn> JsonIn::find(const char* key) const {
    if (!value_->is_object()) fail(std::string("expected an object, got ") + type_name(*value_));
    auto it = value_->find(key);
    if (it == value_->end() || it->is_null()) return std::nullopt;
    return JsonIn(*it, path_.empty() ? key : path_ + "." + key);
}

std::vector<JsonIn> JsonIn::elements() const {
    if (!value_->is_array()) fail(std::string("expected an array, got ") + type_name(*value_));
    std::vector<JsonIn> out;
    for (size_t i = 0; i < value_->size(); ++i)
        out.emplace_back((*value_)[i], path_ + "[" + std::to_string(i) + "]");
    return out;
}

std::vector<std::pair<std::string, JsonIn>> JsonIn::members() const {
    if (!value_->is_object()) fail(std::string("expected an object, got ") + type_name(*value_));
    std::vector<std::pair<std::string, JsonIn>> out;
    for (auto it = value_->begin(); it != value_->end(); ++it)
        out.emplace_back(it.key(), JsonIn(it.value(), path_ + "." + it.key()));
    return out;
}

std::optional<std::string> JsonIn::unsupported() const {
    if (!value_->is_object() || !value_->contains("unsupported")) return std::nullopt;
    const nlohmann::json& why = value_->at("unsupported");
    if (!why.is_string())
        JsonIn(why, path_ + ".unsupported")
            .fail(std::string("expected a string, got ") + type_name(why));
    return why.get<std::string>();
}

template <> bool JsonIn::as<bool>() const {
    if (!value_->is_boolean())
        fail(std::string("expected true or false, got ") + type_name(*value_));
    return value_->get<bool>();
}

template <> std::string JsonIn::as<std::string>() const {
    if (!value_->is_string()) fail(std::string("expected a string, got ") + type_name(*value_));
    return value_->get<std::string>();
}

template <> double JsonIn::as<double>() const {
    if (!value_->is_number()) fail(std::string("expected a number, got ") + type_name(*value_));
    return value_->get<double>();
}

template <> uint64_t JsonIn::as<uint64_t>() const {
    const bool count = value_->is_number_unsigned() ||
                       (value_->is_number_integer() && value_->get<int64_t>() >= 0);
    if (!count)
        fail(std::string("expected a count (an integer >= 0), got ") +
             (value_->is_number() ? value_->dump() : type_name(*value_)));
    return value_->get<uint64_t>();
}

template <> int JsonIn::as<int>() const {
    if (!value_->is_number_integer())
        fail(std::string("expected an integer, got ") + type_name(*value_));
    return value_->get<int>();
}

template <> unsigned JsonIn::as<unsigned>() const {
    return static_cast<unsigned>(as<uint64_t>());
}

template <> std::vector<std::string> JsonIn::as<std::vector<std::string>>() const {
    std::vector<std::string> out;
    for (const JsonIn& e : elements())
        out.push_back(e.as<std::string>());
    return out;
}

template <> std::vector<double> JsonIn::as<std::vector<double>>() const {
    std::vector<double> out;
    for (const JsonIn& e : elements())
        out.push_back(e.as<double>());
    return out;
}

template <> std::vector<int> JsonIn::as<std::vector<int>>() const {
    std::vector<int> out;
    for (const JsonIn& e : elements())
        out.push_back(e.as<int>());
    return out;
}

} // namespace copyscope
