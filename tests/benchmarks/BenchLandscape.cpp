// Benchmark: loss landscape of ResNet-20 on 2,000 Fashion-MNIST test images (ALGORITHMS.md
// section 7), random filter-normalised directions (seed 123), range -1..1, float mode. By default
// the points of the 41 x 41 grid that the coarse pass computes first (every 4th point on both
// axes: an 11 x 11 grid over the same range, 121 points); "41" evaluates the full grid (1,681
// points, hours on 2 cores). Both parallel strategies are timed on the same points. The
// directions, the subset and our surface are written to WORK_DIR/landscape_bench.safetensors,
// which tests/benchmarks/landscape_pytorch.py reads to time the PyTorch reference on the same
// work and compare the values.
// Usage: bench_landscape [CHECKPOINT] [WORK_DIR] [THREADS] [GRID]
//   CHECKPOINT  a float ResNet-20 checkpoint; "train" (or a missing file) trains one (1 epoch of
//               the demo-float preset) in WORK_DIR first
#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/Landscape.h"
#include "engine/analysis/LandscapeCore.h"
#include "engine/io/TensorIO.h"
#include "engine/session/Presets.h"
#include "engine/session/Session.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

using namespace qs;

constexpr int64_t kSamples = 2000;
constexpr uint64_t kSeed = 123;
constexpr int kBatch = 500;

std::string trainCheckpoint(const std::string& work, int threads) {
    session::Session session;
    const session::RunSpec spec = session::applyOverrides(
        session::preset("demo-float"), {"optim.epochs=1", "threads=" + std::to_string(threads)});
    session.start(spec, {work + "/bench.sqlite", work + "/checkpoints"});
    const session::Finished f = session.wait();
    if (f.status != "finished") {
        std::fprintf(stderr, "training failed: %s\n", f.error.c_str());
        std::exit(1);
    }
    return f.checkpoint;
}

struct Timed {
    analysis::LandscapeSurface surface;
    double msPerPoint = 0.0;
};

Timed timeStrategy(const std::string& checkpoint, const analysis::LandscapeOptions& o,
                   const std::string& parallel, int threads) {
    analysis::LandscapeExecution exec;
    exec.threads = threads;
    exec.parallel = parallel;
    const auto t0 = std::chrono::steady_clock::now();
    Timed t;
    t.surface = analysis::computeLandscape(checkpoint, o, nullptr, 0, exec);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.msPerPoint = 1000.0 * s / double(t.surface.loss.size());
    std::fprintf(stderr, "%s, %d thread(s): %.0f ms per point\n", parallel.c_str(), threads,
                 t.msPerPoint);
    return t;
}

double maxRelativeDifference(const std::vector<double>& a, const std::vector<double>& b) {
    double worst = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1e-12, std::abs(b[i])));
    }
    return worst;
}

}  // namespace

int main(int argc, char** argv) {
    std::string checkpoint =
        argc > 1 ? argv[1] : "/tmp/bench/methods/checkpoints/run-1/last.safetensors";
    const std::string work = argc > 2 ? argv[2] : "bench-landscape";
    const int threads =
        argc > 3 && std::atoi(argv[3]) > 0 ? std::atoi(argv[3]) : engine::hardwareThreads();
    const int grid = argc > 4 ? std::atoi(argv[4]) : 11;
    if (grid != 11 && grid != 41) {
        std::fprintf(stderr, "GRID: 11 (the coarse points of the 41x41 grid) or 41\n");
        return 2;
    }
    std::filesystem::create_directories(work);
    if (checkpoint == "train" || !std::filesystem::exists(checkpoint)) {
        checkpoint = trainCheckpoint(work, threads);
    }

    analysis::LandscapeOptions o;
    o.nx = o.ny = grid;
    o.samples = kSamples;
    o.testSplit = true;
    o.seed = kSeed;
    o.batchSize = kBatch;
    o.mode = "float";

    const Timed points = timeStrategy(checkpoint, o, "points", threads);
    const Timed intraOp = timeStrategy(checkpoint, o, "intra-op", threads);

    // The same directions and subset for the reference (computeLandscape made them this way).
    const analysis::CheckpointSpec source = analysis::readCheckpointSpec(checkpoint, {});
    const data::TensorSet subset = analysis::analysisSubset(source, false, kSamples, kSeed);
    models::Network model = analysis::loadAnalysisModel(source, "float", subset);
    const analysis::LandscapeDirections d = analysis::randomDirections(*model, kSeed, true);
    io::NamedTensors tensors{{"images", subset.inputs}, {"labels", subset.labels}};
    for (std::size_t i = 0; i < d.names.size(); ++i) {
        tensors.emplace_back("dx/" + d.names[i], d.dx[i]);
        tensors.emplace_back("dy/" + d.names[i], d.dy[i]);
    }
    tensors.emplace_back("ours/loss", torch::tensor(points.surface.loss, torch::kDouble));
    tensors.emplace_back("ours/accuracy", torch::tensor(points.surface.accuracy, torch::kDouble));
    const std::string file = work + "/landscape_bench.safetensors";
    io::saveTensors(file, tensors,
                    {{"checkpoint", checkpoint},
                     {"grid", std::to_string(grid)},
                     {"range", "-1:1"},
                     {"batch_size", std::to_string(kBatch)},
                     {"threads", std::to_string(threads)},
                     {"ours_points_ms", std::to_string(points.msPerPoint)},
                     {"ours_intra_op_ms", std::to_string(intraOp.msPerPoint)}});

    std::printf(
        "ResNet-20 loss landscape, %lld Fashion-MNIST test images, batch %d, %s grid "
        "(%zu points), threads=%d\n",
        (long long)kSamples, kBatch,
        grid == 11 ? "41x41 coarse-pass (11x11 over -1..1)" : "41x41 full",
        points.surface.loss.size(), threads);
    std::printf("%-22s %14s\n", "strategy", "ms per point");
    std::printf("%-22s %14.0f\n", "ours, points", points.msPerPoint);
    std::printf("%-22s %14.0f\n", "ours, intra-op", intraOp.msPerPoint);
    std::printf("points vs intra-op surfaces: max relative difference %.2e\n",
                maxRelativeDifference(points.surface.loss, intraOp.surface.loss));
    std::printf("directions, subset and surface for the reference: %s\n", file.c_str());
    return 0;
}
