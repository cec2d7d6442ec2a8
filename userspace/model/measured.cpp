#include "model/measured.h"

namespace copyscope {

std::string_view to_string(Evidence e) {
    return e == Evidence::exact ? "exact" : "inferred";
}

std::optional<Evidence> evidence_from_string(std::string_view text) {
    for (Evidence e : {Evidence::exact, Evidence::inferred})
        if (to_string(e) == text) return e;
    return std::nullopt;
}

Evidence weaker(Evidence a, Evidence b) {
    return a == Evidence::inferred || b == Evidence::inferred ? Evidence::inferred
                                                              : Evidence::exact;
}

} // namespace copyscope
