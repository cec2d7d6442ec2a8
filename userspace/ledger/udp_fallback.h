#pragma once
// Why a udp MSG_ZEROCOPY datagram was copied at send: the rules of __ip_append_data
// (net/ipv4/ip_output.c) the cell's settings break, checked against what the kernel did.
// The kernel says only that a send was copied (its ubuf_info's zerocopy bit, cleared), never
// which condition failed: the cause is the rule the settings meet, confirmed by the bytes.
#include <string>
#include <vector>

#include "ledger/checks.h"
#include "ledger/ledger.h"
#include "ledger/tally.h"

namespace copyscope {

// The rules these settings break; empty when the datagrams should be pinned. Unknown device:
// only the rules that do not depend on it.
std::vector<UdpFallbackRule> udp_fallback_rules(const UdpSendSettings& s);

// One rule in words, with the numbers of this cell.
std::string rule_in_words(UdpFallbackRule r, const UdpSendSettings& s);

// The udp zero-copy section of the ledger; nullopt for other cells.
std::optional<UdpZerocopySend> udp_zerocopy_send(const LedgerInput& in, const Tally& t);

// Check: the bytes copied at send are what the rules predict (all of the MSG_ZEROCOPY bytes
// when a rule applies, none otherwise).
void udp_fallback_matches_rules(const CheckContext& c, CheckLog& log);

} // namespace copyscope
