#pragma once
// What a lab test looks at on the machine: am I root, which network namespaces exist,
// how many veth links the root namespace has.
#include <cstdint>
#include <set>
#include <string>
#include <sys/types.h>

namespace copyscope::testsupport {

bool running_as_root();

// Network namespaces reachable from userspace: every task's namespace, every open
// namespace fd, every bind mount. An anonymous namespace that outlived its process would
// still be held by one of these (or by nothing, in which case the kernel frees it).
std::set<uint64_t> visible_net_namespaces();
// Those held by one process (its tasks and its fds).
std::set<uint64_t> net_namespaces_of(pid_t pid);

// veth links in the calling thread's network namespace.
int veth_links_here();

} // namespace copyscope::testsupport

// Skips a lab test when not root (unit runs by users without root).
#define COPYSCOPE_REQUIRE_ROOT()                                                              \
    do {                                                                                      \
        if (!copyscope::testsupport::running_as_root())                                           \
            GTEST_SKIP() << "lab test: needs root (network namespaces, veth, BPF)";           \
    } while (0)
