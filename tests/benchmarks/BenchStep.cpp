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

/// One model with its optimizer and a fixed batch, stepped on demand.
struct Trainee {
    Trainee(const qs::session::RunSpec& spec, int64_t channels, int64_t size)
        : model((torch::manual_seed(0), qs::train::buildModel(spec, channels, 10))),
          opt(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9)),
          x(torch::randn({128, channels, size, size})),
          y(torch::randint(0, 10, {128})) {
        model->train();
    }
    double stepMs() {
        const auto t0 = std::chrono::steady_clock::now();
        torch::Tensor loss = torch::cross_entropy_loss(model->forward(x), y);
        opt.zero_grad();
        loss.backward();
        opt.step();
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
            .count();
    }
    qs::models::Network model;
    torch::optim::SGD opt;
    torch::Tensor x, y;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double fastest(const std::vector<double>& v) {
    return *std::min_element(v.begin(), v.end());
}

}  // namespace

int main(int argc, char** argv) {
    const int threads = qs::engine::applyThreadCount(argc > 1 ? std::atoi(argv[1]) : 0);
    const int steps = argc > 2 ? std::atoi(argv[2]) : 30;
    std::printf(
        "ResNet-20 training step, batch 128, SGD momentum, %d thread(s), median of %d steps in "
        "alternating blocks\n",
        threads, steps);
    std::printf("%-14s %10s %10s %10s %12s\n", "input", "float ms", "LSQ ms", "LSQ/float",
                "min ratio");
    for (auto [channels, size] : {std::pair<int64_t, int64_t>{1, 28}, {3, 32}}) {
        qs::session::RunSpec fp;
        fp.method.name = "fp";
        qs::session::RunSpec lsq = fp;
        lsq.method.name = "lsq";
        lsq.quant.weightBits = lsq.quant.actBits = 4;
        // Float and LSQ run in alternating blocks of steps, so both see the same machine noise
        // while each stays in its steady state within a block (stepping the two models in strict
        // alternation thrashes caches and the allocator, and would measure that instead). The
        // first steps of each block are a warm-up.
        Trainee floatModel(fp, channels, size), lsqModel(lsq, channels, size);
        std::vector<double> ft, qt;
        constexpr int kBlock = 10, kWarmup = 3;
        for (int round = 0; round * (kBlock - kWarmup) < steps; ++round) {
            for (auto [trainee, times] : {std::pair{&floatModel, &ft}, std::pair{&lsqModel, &qt}}) {
                for (int i = 0; i < kBlock; ++i) {
                    const double ms = trainee->stepMs();
                    if (i >= kWarmup) {
                        times->push_back(ms);
                    }
                }
            }
        }
        const double f = median(ft), q = median(qt);
        char input[32];
        std::snprintf(input, sizeof input, "%lldx%lldx%lld", (long long)channels, (long long)size,
                      (long long)size);
        // The ratio of the fastest steps is the least disturbed by other load on the machine.
        std::printf("%-14s %10.1f %10.1f %10.3f %12.3f\n", input, f, q, q / f,
                    fastest(qt) / fastest(ft));
    }
    return 0;
}
