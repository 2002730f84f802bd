// Benchmark: one training step of ResNet-20 at batch 128 (SGD, momentum), float vs LSQ W4A4
// (first/last layer 8-bit, the default policy), same threads, same input. Prints a table with
// the LSQ/float ratio measured in this run. Optional argv: threads, steps, input size.
#include "engine/models/ResNet.h"
#include "engine/session/RunSpec.h"
#include "engine/train/Trainer.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

/// Median milliseconds per step over `steps` steps after a warm-up.
double stepMs(qs::session::RunSpec spec, int64_t channels, int64_t size, int steps) {
    torch::manual_seed(0);
    auto model = qs::train::buildModel(spec, channels, 10);
    model->train();
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
    torch::Tensor x = torch::randn({128, channels, size, size});
    torch::Tensor y = torch::randint(0, 10, {128});
    std::vector<double> times;
    for (int i = 0; i < steps + 5; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        torch::Tensor loss = torch::cross_entropy_loss(model->forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                .count();
        if (i >= 5) {
            times.push_back(ms);
        }
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = qs::engine::applyThreadCount(argc > 1 ? std::atoi(argv[1]) : 0);
    const int steps = argc > 2 ? std::atoi(argv[2]) : 30;
    std::printf(
        "ResNet-20 training step, batch 128, SGD momentum, %d thread(s), median of %d steps\n",
        threads, steps);
    std::printf("%-14s %10s %10s %10s\n", "input", "float ms", "LSQ ms", "LSQ/float");
    for (auto [channels, size] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
        qs::session::RunSpec fp;
        fp.method.name = "fp";
        qs::session::RunSpec lsq = fp;
        lsq.method.name = "lsq";
        lsq.quant.weightBits = lsq.quant.actBits = 4;
        const double f = stepMs(fp, channels, size, steps);
        const double q = stepMs(lsq, channels, size, steps);
        char input[32];
        std::snprintf(input, sizeof input, "%lldx%lldx%lld", (long long)channels, (long long)size,
                      (long long)size);
        std::printf("%-14s %10.1f %10.1f %10.3f\n", input, f, q, q / f);
    }
    return 0;
}
