#include "lab/netns.h"

#include <cerrno>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errors.h"

namespace copyscope {

namespace {

UniqueFd open_thread_netns() {
    UniqueFd fd(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!fd) throw RunError(errno_message("cannot open /proc/thread-self/ns/net", errno));
    return fd;
}

uint64_t inode_of(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw RunError(errno_message("cannot stat a namespace fd", errno));
    return st.st_ino;
}

} // namespace

NetNs NetNs::current() {
    UniqueFd fd = open_thread_netns();
    uint64_t ino = inode_of(fd.get());
    return NetNs(std::move(fd), ino);
}

NetNs NetNs::create() {
    // unshare() moves only the calling thread (network namespaces are per thread); we
    // take a handle on the new namespace and step back at once.
    NetNs original = current();
    if (::unshare(CLONE_NEWNET) != 0)
        throw RunError(errno_message("cannot create a network namespace (unshare)", errno));
    UniqueFd fd = open_thread_netns();
    uint64_t ino = inode_of(fd.get());
    if (::setns(original.fd(), CLONE_NEWNET) != 0)
        throw RunError(errno_message("cannot return to the original network namespace", errno));
    return NetNs(std::move(fd), ino);
}

NetnsGuard::NetnsGuard(const NetNs& target) : original_(NetNs::current()) {
    if (::setns(target.fd(), CLONE_NEWNET) != 0)
        throw RunError(errno_message("cannot enter the lab's network namespace (setns)", errno));
}

NetnsGuard::~NetnsGuard() {
    // Failing to step back would leave this thread in the lab; nothing sane remains to do.
    if (::setns(original_.fd(), CLONE_NEWNET) != 0) std::terminate();
}

} // namespace copyscope
