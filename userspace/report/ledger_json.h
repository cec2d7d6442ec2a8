#pragma once
// The copy ledger as the report writes it, and read back.
#include <nlohmann/json.hpp>

#include "model/ledger.h"
#include "report/json_read.h"

namespace copyscope {

nlohmann::json to_json(const KernelCounts& k); // the "raw" counts, one key per counter
// The runner's MSG_ZEROCOPY notifications; the cell and the ledger name "missing" apart.
nlohmann::json to_json(const ZerocopyStats& z, const char* missing_key);
nlohmann::json to_json(const HookUse& h);
// io_uring CQE counts and sendfile's file counts, as a cell (and the ledger) write them.
nlohmann::json to_json(const IoUringStats& u);
nlohmann::json to_json(const SendfileStats& s);
nlohmann::json to_json(const Ledger& ledger);

KernelCounts kernel_counts_from_json(const JsonIn& j);
ZerocopyStats zerocopy_stats_from_json(const JsonIn& j, const char* missing_key);
// One hook's use as to_json(HookUse) wrote it (the value of its name).
HookUse hook_use_from_json(const std::string& name, const JsonIn& j);
IoUringStats io_uring_stats_from_json(const JsonIn& j);
SendfileStats sendfile_stats_from_json(const JsonIn& j);
// `cell` gives the strategy and transport when the ledger does not say them.
Ledger ledger_from_json(const JsonIn& j, const CellSpec& cell);

} // namespace copyscope
