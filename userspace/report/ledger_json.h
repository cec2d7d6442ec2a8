#pragma once
// The copy ledger as the report writes it.
#include <nlohmann/json.hpp>

#include "model/ledger.h"

namespace copyscope {

nlohmann::json to_json(const KernelCounts& k); // the "raw" counts, one key per counter
// The runner's MSG_ZEROCOPY notifications; the cell and the ledger name "missing" apart.
nlohmann::json to_json(const ZerocopyStats& z, const char* missing_key);
nlohmann::json to_json(const HookUse& h);
nlohmann::json to_json(const Ledger& ledger);

} // namespace copyscope
