#pragma once
// RAII owner of the loaded BPF object (the bpftool skeleton): open, autoload one form per
// hook, load, attach. Links and maps are held by file descriptors only, never pinned, so
// destroying the object (or the process dying) unloads everything.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "tracer/hooks.h"

struct copyscope_bpf; // the generated skeleton

namespace copyscope {

class BpfTracer {
  public:
    // Loads and attaches the programs of `plan`. Throws RunError with libbpf's reason.
    explicit BpfTracer(const HookPlan& plan);
    ~BpfTracer();
    BpfTracer(const BpfTracer&) = delete;
    BpfTracer& operator=(const BpfTracer&) = delete;

    // Counts only these namespaces from now on, from zero. At most CS_MAX_NAMESPACES.
    void watch(const std::vector<uint64_t>& namespace_inodes);
    // Counts of one watched namespace so far, summed over CPUs.
    KernelCounts read(uint64_t namespace_inode) const;
    // Program runs the kernel skipped (recursion protection) since watch().
    uint64_t missed_events() const;

    const HookPlan& plan() const { return plan_; }
    // Ids of the loaded programs (for tests that check nothing is left behind).
    std::vector<uint32_t> program_ids() const;

  private:
    uint64_t total_recursion_misses() const;

    HookPlan plan_;
    copyscope_bpf* skel_ = nullptr;
    std::vector<uint64_t> watched_;
    uint64_t misses_at_watch_ = 0;
};

// libbpf's last warnings, for error messages (libbpf prints through a global callback).
std::string libbpf_last_messages();

} // namespace copyscope
