#pragma once
// The ledger's last stage: the verdict on a zero-copy cell, in words: effective, partly
// effective or not, for what share of the bytes, and where the copies happened.
#include <optional>
#include <string>

#include "ledger/ledger.h"
#include "ledger/tally.h"

namespace copyscope {

// nullopt for cells that are not zero-copy.
std::optional<std::string> zerocopy_verdict(const LedgerInput& in, const Tally& t);

// Where a deferred copy in a side playing `role` happened, in words.
std::string where_deferred(NamespaceRole role, Transport t);

} // namespace copyscope
