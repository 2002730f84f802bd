// Benchmark: BERT on SpamAssassin (issue "BERT end to end"). A small BERT (4 layers, hidden 256,
// preset bert-spam-float) from scratch with a vocabulary learnt from the training split, then
// W4A8 and W2A8 with lsq, squat and nt from its checkpoint (presets bert-spam-<method>-w<b>a8,
// 1 epoch each), plus PTQ for reference. For each: test accuracy (603 messages), spam F1,
// rho-ball sharpness (rho 0.05, 5 ascent steps, 256 training messages, both quantized modes) and
// time per training step, with its ratio to lsq at the same bits measured in this run.
// Usage: bench_bert [WORK_DIR] [THREADS] [FLOAT_CHECKPOINT] [timing]
//   FLOAT_CHECKPOINT: skip the float training and start the quantized runs from this checkpoint
//   (the float row then shows the test accuracy stored in it, and no step time).
//   timing: only the time per training step (the mean over a run's steps), each method for 20
//   steps (640 training messages, 64 test messages), to run on an otherwise idle machine.
#include "BenchRuns.h"

#include "engine/io/Safetensors.h"
#include "engine/session/Presets.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace qs;
using namespace qs::session;
using qs::bench::measure;
using qs::bench::Row;
using qs::bench::train;

namespace {

constexpr int64_t kSharpnessSamples = 256;
constexpr int kSharpnessBatch = 32;

/// Time per step of every method on 20 steps each, and the ratio to lsq at the same bits.
int timing(const std::string& work, const std::string& t, const std::string& floatCheckpoint) {
    const std::vector<std::string> small{t, "data.train_limit=640", "data.test_limit=64"};
    auto withInit = [&](std::vector<std::string> o) {
        o.push_back("init_checkpoint=" + floatCheckpoint);
        return o;
    };
    std::vector<std::string> floatOverrides = small;
    floatOverrides.push_back("optim.epochs=1");
    const Row fp = train(applyOverrides(preset("bert-spam-float"), floatOverrides), work);
    std::printf(
        "BERT (4 layers, hidden 256) on SpamAssassin, 128 tokens, batch 32: time per "
        "training step, 20 steps per method; %s\n",
        t.c_str());
    std::printf("%-6s %-6s %9s %9s\n", "bits", "method", "step ms", "vs lsq");
    std::printf("%-6s %-6s %9.1f %9s\n", "float", "fp", fp.stepMs, "-");
    for (int bits : {4, 2}) {
        std::map<std::string, double> ms;
        for (const char* method : {"lsq", "squat", "nt"}) {
            ms[method] = train(applyOverrides(preset(std::string("bert-spam-") + method + "-w" +
                                                     std::to_string(bits) + "a8"),
                                              withInit(small)),
                               work)
                             .stepMs;
        }
        for (const char* method : {"lsq", "squat", "nt"}) {
            std::printf("W%dA8   %-6s %9.1f %9.2f\n", bits, method, ms[method],
                        ms[method] / ms["lsq"]);
        }
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string work = argc > 1 ? argv[1] : "bench-bert";
    const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
    const std::string given = argc > 3 ? argv[3] : "";
    const std::string t = "threads=" + std::to_string(threads);
    std::filesystem::create_directories(work);
    if (argc > 4 && std::string(argv[4]) == "timing") {
        return timing(work, t, given);
    }
    Row fp;
    if (given.empty()) {
        fp = train(applyOverrides(preset("bert-spam-float"), {t}), work);
    } else {
        fp.checkpoint = given;
        fp.acc = std::stod(io::SafetensorsFile::load(given).metadata().at("eval_acc"));
        fp.stepMs = -1.0;
    }
    measure(fp, threads, kSharpnessSamples, kSharpnessBatch);
    std::printf(
        "BERT (4 layers, hidden 256, from scratch) on SpamAssassin: test accuracy (603 "
        "messages), rho-ball sharpness\n(rho 0.05, 5 steps, %lld training messages), time "
        "per step vs lsq; quantized runs 1 epoch from one float checkpoint; threads=%d\n",
        static_cast<long long>(kSharpnessSamples), threads);
    std::printf("%-6s %-6s %9s %9s %14s %14s %9s %9s\n", "bits", "method", "test acc", "vs float",
                "sharp dequant", "sharp q-after", "step ms", "vs lsq");
    char floatStep[32] = "-";
    if (fp.stepMs >= 0.0) {
        std::snprintf(floatStep, sizeof floatStep, "%.1f", fp.stepMs);
    }
    std::printf("%-6s %-6s %8.2f%% %9s %14.4f %14s %9s %9s\n", "float", "fp", 100 * fp.acc, "-",
                fp.sharpness["float"], "-", floatStep, "-");
    std::fflush(stdout);
    for (int bits : {4, 2}) {
        std::map<std::string, Row> rows;
        for (const char* method : {"ptq", "lsq", "squat", "nt"}) {
            const std::string m = method;
            RunSpec spec =
                m == "ptq" ? applyOverrides(preset("bert-spam-lsq-w" + std::to_string(bits) + "a8"),
                                            {"method.name=ptq",
                                             "name=bert-spam-ptq-w" + std::to_string(bits) + "a8"})
                           : preset("bert-spam-" + m + "-w" + std::to_string(bits) + "a8");
            Row r = train(applyOverrides(spec, {t, "init_checkpoint=" + fp.checkpoint}), work);
            measure(r, threads, kSharpnessSamples, kSharpnessBatch);
            rows[m] = r;
        }
        for (const char* method : {"ptq", "lsq", "squat", "nt"}) {
            const std::string m = method;
            Row& r = rows[m];
            char ratio[32] = "-";
            if (m != "ptq") {
                std::snprintf(ratio, sizeof ratio, "%.2f", r.stepMs / rows["lsq"].stepMs);
            }
            std::printf("W%dA8   %-6s %8.2f%% %+8.2fpt %14.4f %14.4f %9.1f %9s\n", bits, method,
                        100 * r.acc, 100 * (r.acc - fp.acc), r.sharpness["dequantized"],
                        r.sharpness["quantize-after"], m == "ptq" ? 0.0 : r.stepMs, ratio);
        }
        std::fflush(stdout);
    }
    return 0;
}
