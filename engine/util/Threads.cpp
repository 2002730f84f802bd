#include "engine/util/Threads.h"

#include <ATen/Parallel.h>

#include <thread>

namespace qs::engine {

int hardwareThreads() {
    const unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : int(n);
}

int applyThreadCount(int requested) {
    const int n = requested > 0 ? requested : hardwareThreads();
    if (at::get_num_threads() != n) {
        at::set_num_threads(n);
    }
    return at::get_num_threads();
}

}  // namespace qs::engine
