#pragma once
// liburing, and what Debian bookworm's liburing 2.3 lacks of the kernel's io_uring uapi.
//
// liburing 2.3 ships its own copy of the uapi header (liburing/io_uring.h) under the same
// include guard as the system's <linux/io_uring.h>, so including the system header after it
// adds nothing. Its copy predates these two; the values are the kernel's, from
// include/uapi/linux/io_uring.h (already in 6.1.20, the same in 6.12, 6.18 and 7.1).
#include <liburing.h>

// sqe->ioprio of IORING_OP_SEND_ZC: post IORING_NOTIF_USAGE_ZC_COPIED in the notification's
// res when the kernel copied (some of) the data after all.
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
// Notification cqe->res: set when the request's data was copied, or never sent by reference.
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
