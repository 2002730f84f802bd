// Benchmark: the fused LSQ autograd function vs the composite reference (the usual chain of
// differentiable ops) on a 4M-element tensor, forward + backward, per-tensor and per-channel.
// Prints a table with the ratio measured in the same run. Not part of the test command.
#include "engine/quant/LsqFunction.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>

namespace {

double timeMs(const std::function<void()>& f, int reps) {
    f();  // warm-up
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) {
        f();
    }
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
               .count() /
           reps;
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = qs::engine::applyThreadCount(argc > 1 ? std::atoi(argv[1]) : 0);
    torch::manual_seed(0);
    const int64_t channels = 256;
    torch::Tensor v = torch::randn({channels, 16384});  // 4,194,304 elements
    std::printf("LSQ forward+backward on %lld elements, %d thread(s)\n", (long long)v.numel(),
                threads);
    std::printf("%-24s %12s %14s %8s\n", "case", "fused ms", "composite ms", "speed-up");
    for (bool perChannel : {false, true}) {
        for (int bits : {2, 4, 8}) {
            const auto range = qs::quant::QuantRange::of(bits, true);
            torch::Tensor s = (perChannel ? torch::full({channels}, 0.1f) : torch::full({1}, 0.1f))
                                  .requires_grad_(true);
            torch::Tensor x = v.clone().requires_grad_(true);
            torch::Tensor go = torch::randn_like(v);
            const double g = 1.0 / std::sqrt(double(v.numel()) * range.qp);
            const double fused =
                timeMs([&] { qs::quant::lsqQuantize(x, s, range, g).backward(go); }, 20);
            const double composite =
                timeMs([&] { qs::quant::lsqQuantizeComposite(x, s, range, g).backward(go); }, 20);
            char name[64];
            std::snprintf(name, sizeof name, "%s W%d", perChannel ? "per-channel" : "per-tensor",
                          bits);
            std::printf("%-24s %12.2f %14.2f %7.2fx\n", name, fused, composite, composite / fused);
        }
    }
    return 0;
}
