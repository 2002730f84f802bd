// Benchmark: the method comparison of ALGORITHMS.md (issue "SQuAT, noise tempering and PTQ"):
// ResNet-20 on Fashion-MNIST, one float checkpoint (preset demo-float, 3 epochs), then ptq, lsq,
// squat and nt at W4A4, W3A3 and W2A2 from it (presets <method>-w<b>a<b>, 1 epoch for each QAT
// method). For each: test accuracy (10,000 images), rho-ball sharpness (rho 0.05, 5 ascent steps,
// 1,000 training images, both quantized modes) and time per training step relative to lsq at the
// same bits, measured in this run.
// Usage: bench_methods [WORK_DIR] [THREADS] [EPOCHS]
#include "BenchRuns.h"

#include "engine/session/Presets.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

using namespace qs;
using namespace qs::session;
using qs::bench::measure;
using qs::bench::Row;
using qs::bench::train;

int main(int argc, char** argv) {
    const std::string work = argc > 1 ? argv[1] : "bench-methods";
    const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
    const int epochs = argc > 3 ? std::atoi(argv[3]) : 1;
    const std::string t = "threads=" + std::to_string(threads);
    std::filesystem::remove_all(work);
    std::filesystem::create_directories(work);
    Row fp = train(applyOverrides(preset("demo-float"), {t}), work);
    measure(fp, threads);
    std::printf(
        "ResNet-20 on Fashion-MNIST: test accuracy (10,000 images), rho-ball sharpness "
        "(rho 0.05, 5 steps, 1,000 train images),\ntime per step vs lsq; QAT methods %d "
        "epoch(s) from one float checkpoint; threads=%d\n",
        epochs, threads);
    std::printf("%-6s %-6s %9s %9s %14s %14s %9s %9s\n", "bits", "method", "test acc", "vs float",
                "sharp dequant", "sharp q-after", "step ms", "vs lsq");
    std::printf("%-6s %-6s %8.2f%% %9s %14.4f %14s %9.1f %9s\n", "float", "fp", 100 * fp.acc, "-",
                fp.sharpness["float"], "-", fp.stepMs, "-");
    for (int bits : {4, 3, 2}) {
        std::map<std::string, Row> rows;
        for (const char* method : {"ptq", "lsq", "squat", "nt"}) {
            const std::string name =
                std::string(method) + "-w" + std::to_string(bits) + "a" + std::to_string(bits);
            Row r = train(applyOverrides(preset(name), {t, "init_checkpoint=" + fp.checkpoint,
                                                        "optim.epochs=" + std::to_string(epochs)}),
                          work);
            measure(r, threads);
            rows[method] = r;
        }
        for (const char* method : {"ptq", "lsq", "squat", "nt"}) {
            Row& r = rows[method];
            char ratio[32] = "-";
            if (std::string(method) != "ptq") {
                std::snprintf(ratio, sizeof ratio, "%.2f", r.stepMs / rows["lsq"].stepMs);
            }
            std::printf("W%dA%d   %-6s %8.2f%% %+8.2fpt %14.4f %14.4f %9.1f %9s\n", bits, bits,
                        method, 100 * r.acc, 100 * (r.acc - fp.acc), r.sharpness["dequantized"],
                        r.sharpness["quantize-after"],
                        std::string(method) == "ptq" ? 0.0 : r.stepMs, ratio);
        }
        std::fflush(stdout);
    }
    return 0;
}
