#pragma once
// The ledger's checks for the io_uring SEND_ZC strategies: the kernel's usage flag
// (IORING_NOTIF_USAGE_ZC_COPIED) against the deferred copy the tracer counted, and the
// notifications the kernel posted against those the sender read. Listed in checks.cpp.
#include "ledger/checks.h"

namespace copyscope {

void deferred_vs_usage_flags(const CheckContext& c, CheckLog& log);
void kernel_uring_notifications(const CheckContext& c, CheckLog& log);

} // namespace copyscope
