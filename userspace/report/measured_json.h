#pragma once
// How the report writes a figure that is measured or not: the value, or
// {"unsupported": "why"} -- never a 0 in disguise.
#include <string>

#include <nlohmann/json.hpp>

#include "model/measured.h"

namespace copyscope {

// {"unsupported": "why"}: a figure the kernel or the machine cannot give.
inline nlohmann::json unsupported_json(const std::string& why) {
    return nlohmann::json{{"unsupported", why}};
}

// Measured<T> as the report writes it: the value, or {"unsupported": "why"}.
template <class T> nlohmann::json measured_json(const Measured<T>& m) {
    if (!m) return unsupported_json(m.reason());
    return nlohmann::json(*m);
}

} // namespace copyscope
