#pragma once
// Something that watches a cell from the side: the BPF tracer, the perf counters.
// The runner calls these in order for every cell:
//   cell_begin (lab up, before any traffic)
//   thread_begin / thread_end on each sender and receiver thread, around its traffic
//   cell_end (all threads joined), which adds the observer's part to the result.
#include "model/cell.h"

namespace copyscope {

class Lab;

class CellObserver {
  public:
    virtual ~CellObserver() = default;
    virtual void cell_begin(const CellSpec& /*spec*/, const Lab& /*lab*/) {}
    virtual void thread_begin(Role /*role*/) {}
    virtual void thread_end(Role /*role*/) {}
    virtual void cell_end(CellResult& /*result*/) {}
};

} // namespace copyscope
