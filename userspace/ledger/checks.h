#pragma once
// The ledger's checks: does the ledger add up, do the copies the tracer counted agree with
// what else the kernel shows (the flags of the skbs that reach the receiver, what leaves the
// device, its own COPIED notifications)? Each check is a small function over the tally and
// the figures; it passes, fails, says why it cannot be evaluated, or (when it does not
// apply) adds nothing, and says whether it is independent evidence: two observations that
// could disagree, rather than a figure against one derived from it or a consequence of
// other checks. A new check is a function added to the list in checks.cpp.
#include <span>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/tally.h"

namespace copyscope {

struct CheckContext {
    const LedgerInput& in;
    const Tally& tally;
    const Ledger& ledger; // the figures (checks_not_evaluated and verdict not yet set)
};

// Whether a check is independent evidence, and why (the report says so beside each).
struct Independence {
    bool independent = true;
    std::string why;
};

struct CheckLog {
    std::vector<Check> evaluated;
    std::vector<SkippedCheck> skipped;

    void add(std::string name, bool passed, std::string detail, Independence independence);
    void skip(std::string name, std::string reason);
};

using LedgerCheck = void (*)(const CheckContext&, CheckLog&);

// Every check, in the order the report lists them.
std::span<const LedgerCheck> ledger_checks();

CheckLog run_checks(const CheckContext& context);

} // namespace copyscope
