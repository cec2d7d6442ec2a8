#pragma once
// The ledger's second stage: the tally as the ledger's figures, for the whole cell and per
// namespace. A figure whose hook gave no counts is unsupported with the hook's reason; one
// that was counted carries the hook's evidence. Checks and verdict come after.
#include "ledger/ledger.h"
#include "ledger/tally.h"

namespace copyscope {

Ledger ledger_figures(const LedgerInput& in, const Tally& t);

// The pinned pages figure from counts, per the pinned_pages hook's form (`trace` per
// connection, `run` per namespace).
Measured<uint64_t> pinned_pages_figure(const HookSource& hook, const KernelCounts& k);

} // namespace copyscope
