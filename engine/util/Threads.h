// Intra-op thread control for LibTorch (STACK.md trap 4: it starts with one thread here).
#pragma once

namespace qs::engine {

/// Number of hardware threads (at least 1).
int hardwareThreads();

/// Sets LibTorch's intra-op thread count for this process; 0 means all cores. Returns the count
/// in force afterwards.
int applyThreadCount(int requested);

}  // namespace qs::engine
