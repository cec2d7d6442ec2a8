#pragma once
// The ledger's checks: does the ledger add up, and does the tracer agree with the kernel's
// own notifications? Each check is a small function over the tally and the figures; it
// passes, fails, says why it cannot be evaluated, or (when it does not apply) adds nothing.
// A new check is a function added to the list in checks.cpp.
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

struct CheckLog {
    std::vector<Check> evaluated;
    std::vector<SkippedCheck> skipped;

    void add(std::string name, bool passed, std::string detail);
    void skip(std::string name, std::string reason);
};

using LedgerCheck = void (*)(const CheckContext&, CheckLog&);

// Every check, in the order the report lists them.
std::span<const LedgerCheck> ledger_checks();

CheckLog run_checks(const CheckContext& context);

} // namespace copyscope
