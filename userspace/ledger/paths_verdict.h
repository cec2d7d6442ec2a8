#pragma once
// The verdict in words on the send paths beyond MSG_ZEROCOPY: did sendfile send the file's
// pages by reference, and did io_uring SEND_ZC avoid the copy (with what the kernel's usage
// flags said)? The copying io-uring strategy has none, as one-copy has none.
#include <optional>
#include <string>

#include "ledger/ledger.h"
#include "ledger/tally.h"

namespace copyscope {

// nullopt for the other strategies.
std::optional<std::string> path_verdict(const LedgerInput& in, const Tally& t);

} // namespace copyscope
