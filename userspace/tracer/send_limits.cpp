#include "tracer/send_limits.h"

#include <fstream>
#include <linux/capability.h>
#include <sys/resource.h>
#include <thread>

#include "common/capabilities.h"
#include "common/errors.h"

namespace copyscope {
namespace {

constexpr const char* optmem_path = "/proc/sys/net/core/optmem_max";

std::optional<uint64_t> read_number(const char* path) {
    std::ifstream f(path);
    uint64_t v = 0;
    if (f >> v) return v;
    return std::nullopt;
}

std::optional<uint64_t> read_in(const NetNs& ns) {
    std::optional<uint64_t> v;
    std::thread t([&] {
        try {
            NetnsGuard in(ns);
            v = read_number(optmem_path);
        } catch (const std::exception&) {
        }
    });
    t.join();
    return v;
}

} // namespace

SendLimits read_send_limits(const NetNs& sender) {
    SendLimits l;
    if (auto v = read_in(sender))
        l.optmem_max = Measured<uint64_t>(*v, Evidence::exact, "the sender's namespace");
    else if (auto g = read_number(optmem_path))
        l.optmem_max =
            Measured<uint64_t>(*g, Evidence::exact, "global: not per namespace on this kernel");
    else
        l.optmem_max = Unsupported{std::string(optmem_path) + " unreadable"};
    rlimit r{};
    if (getrlimit(RLIMIT_MEMLOCK, &r) == 0)
        l.memlock_limit = r.rlim_cur == RLIM_INFINITY ? std::optional<uint64_t>{}
                                                      : std::optional<uint64_t>{r.rlim_cur};
    else
        l.memlock_limit = Unsupported{"getrlimit(RLIMIT_MEMLOCK) failed"};
    l.cap_ipc_lock = current_capabilities().has(CAP_IPC_LOCK);
    return l;
}

} // namespace copyscope
