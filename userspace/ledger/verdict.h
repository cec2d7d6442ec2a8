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

// Where the receive path copied in a side playing `role`, in words (`local`: copies at local
// delivery on this kernel, 6.17+; nullopt: not known).
std::string where_received(NamespaceRole role, Transport t, std::optional<bool> local);

} // namespace copyscope
