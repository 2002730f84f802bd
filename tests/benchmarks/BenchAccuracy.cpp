// Benchmark: accuracy on the Fashion-MNIST test set (10,000 images) with ResNet-20: float after
// 3 epochs (preset demo-float), then LSQ W4A4, W3A3 and W2A2 for 1 epoch each from that float
// checkpoint (presets lsq-wNaN). Targets: float >= 91%, W4A4 within 1 point of float.
// Usage: bench_accuracy [WORK_DIR] [THREADS]
#include "BenchRuns.h"

#include "engine/session/Presets.h"

#include <cstdio>
#include <filesystem>
#include <string>

using namespace qs::session;
using qs::bench::Row;
using qs::bench::train;

int main(int argc, char** argv) {
    const std::string work = argc > 1 ? argv[1] : "bench-accuracy";
    const std::string threads = argc > 2 ? argv[2] : "0";
    std::filesystem::remove_all(work);
    std::filesystem::create_directories(work);
    const Row fp = train(applyOverrides(preset("demo-float"), {"threads=" + threads}), work);
    std::printf("ResNet-20 on Fashion-MNIST (test set, 10,000 images), threads=%s\n",
                threads.c_str());
    std::printf("%-10s %8s %10s %10s %10s %9s\n", "run", "epochs", "test acc", "vs float",
                "step ms", "time s");
    std::printf("%-10s %8d %9.2f%% %10s %10.1f %9.0f\n", "float", 3, 100 * fp.acc, "-", fp.stepMs,
                fp.seconds);
    for (const char* p : {"lsq-w4a4", "lsq-w3a3", "lsq-w2a2"}) {
        const Row q = train(
            applyOverrides(preset(p), {"threads=" + threads, "init_checkpoint=" + fp.checkpoint}),
            work);
        std::printf("%-10s %8d %9.2f%% %+9.2fpt %10.1f %9.0f\n", p, 1, 100 * q.acc,
                    100 * (q.acc - fp.acc), q.stepMs, q.seconds);
    }
    std::printf("targets: float >= 91%%: %s; W4A4 within 1 point of float: see above\n",
                fp.acc >= 0.91 ? "met" : "NOT met");
    return 0;
}
