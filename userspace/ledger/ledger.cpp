#include "ledger/ledger.h"

#include "ledger/checks.h"
#include "ledger/figures.h"
#include "ledger/paths_verdict.h"
#include "ledger/tally.h"
#include "ledger/udp_fallback.h"
#include "ledger/verdict.h"

namespace copyscope {

LedgerResult compute_ledger(const LedgerInput& in) {
    const Tally t = tally(in);
    LedgerResult out;
    out.ledger = ledger_figures(in, t);
    out.ledger.udp_zerocopy_send = udp_zerocopy_send(in, t);
    CheckLog log = run_checks(CheckContext{in, t, out.ledger});
    out.checks = std::move(log.evaluated);
    out.ledger.checks_not_evaluated = std::move(log.skipped);
    out.ledger.verdict = zerocopy_verdict(in, t);
    if (!out.ledger.verdict) out.ledger.verdict = path_verdict(in, t);
    return out;
}

} // namespace copyscope
