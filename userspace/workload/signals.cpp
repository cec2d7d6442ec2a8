#include "workload/signals.h"

#include <atomic>
#include <cerrno>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/errors.h"

namespace copyscope {

namespace {

// Handler state: plain lock-free atomics, the only things a handler may touch.
std::atomic<bool> g_installed{false};
std::atomic<int> g_target_pidfd{-1};
std::atomic<int> g_received{0};
std::atomic<int> g_wake_fd{-1};
struct sigaction g_previous_int, g_previous_term;

void on_signal(int sig, siginfo_t* info, void*) {
    int saved_errno = errno;
    g_received.store(sig);
    int target = g_target_pidfd.load();
    if (target >= 0 && info && info->si_code != SI_KERNEL)
        ::syscall(SYS_pidfd_send_signal, target, sig, nullptr, 0);
    uint64_t one = 1;
    if (int fd = g_wake_fd.load(); fd >= 0) {
        [[maybe_unused]] auto n = ::write(fd, &one, sizeof one);
    }
    errno = saved_errno;
}

} // namespace

SignalForwarder::SignalForwarder() {
    if (g_installed.exchange(true))
        throw std::logic_error("a SignalForwarder is already installed");
    int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) {
        g_installed = false;
        throw RunError(errno_message("eventfd", errno));
    }
    g_wake_fd = fd;
    g_received = 0;
    g_target_pidfd = -1;
    struct sigaction sa {};
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &g_previous_int);
    ::sigaction(SIGTERM, &sa, &g_previous_term);
}

SignalForwarder::~SignalForwarder() {
    ::sigaction(SIGINT, &g_previous_int, nullptr);
    ::sigaction(SIGTERM, &g_previous_term, nullptr);
    g_target_pidfd = -1;
    ::close(g_wake_fd.exchange(-1));
    g_installed = false;
}

void SignalForwarder::forward_to(int pidfd) {
    g_target_pidfd = pidfd;
}

int SignalForwarder::received() const {
    return g_received.load();
}

int SignalForwarder::wake_fd() const {
    return g_wake_fd.load();
}

} // namespace copyscope
