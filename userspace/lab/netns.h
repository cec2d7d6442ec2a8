#pragma once
// Anonymous network namespaces held by file descriptors. They are never named under
// /run/netns, so they vanish with the last fd (or socket) that holds them: nothing leaks
// when the process is killed.
#include <cstdint>

#include "common/unique_fd.h"

namespace copyscope {

class NetNs {
  public:
    // A new, empty network namespace (loopback down).
    static NetNs create();
    // The namespace the calling thread is in now.
    static NetNs current();

    int fd() const { return fd_.get(); }
    uint64_t inode() const { return inode_; } // net->ns.inum, what BPF programs see

  private:
    NetNs(UniqueFd fd, uint64_t inode) : fd_(std::move(fd)), inode_(inode) {}
    UniqueFd fd_;
    uint64_t inode_ = 0;
};

// Moves the calling thread into a namespace for the guard's lifetime. Sockets created
// meanwhile stay in that namespace for good, whichever thread uses them later.
class NetnsGuard {
  public:
    explicit NetnsGuard(const NetNs& target);
    ~NetnsGuard();
    NetnsGuard(const NetnsGuard&) = delete;
    NetnsGuard& operator=(const NetnsGuard&) = delete;

  private:
    NetNs original_;
};

} // namespace copyscope
