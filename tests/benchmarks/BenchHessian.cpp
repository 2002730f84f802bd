// Benchmark: per-layer Hutchinson traces (ALGORITHMS.md section 5) of ResNet-20 on Fashion-MNIST,
// our engine against the PyTorch Python reference (hessian_pytorch.py, PyHessian's
// dataloader_hv_product), same checkpoint, same data subset (written here for the script), same
// batch size and thread count. Times the estimator with the first-order graphs cached between
// products (the engine's default) and recomputed for every product (as PyHessian does).
// Writes WORK_DIR/subset.bin (the images and labels) and WORK_DIR/ours.json (our figures).
// Usage: bench_hessian [CHECKPOINT|-] [THREADS] [SAMPLES] [TRACE_SAMPLES] [WORK_DIR]
//   CHECKPOINT "-": trains the demo-float preset (3 epochs) in WORK_DIR first.
#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/HessianCore.h"
#include "engine/session/Presets.h"
#include "engine/session/Session.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace qs;

constexpr int kBatch = 250;
constexpr uint64_t kSeed = 123;

std::string trainFloat(const std::string& work, int threads) {
    session::Session session;
    session.start(session::applyOverrides(session::preset("demo-float"),
                                          {"threads=" + std::to_string(threads)}),
                  {work + "/bench.sqlite", work + "/checkpoints"});
    const session::Finished f = session.wait();
    if (f.status != "finished") {
        std::fprintf(stderr, "demo-float: %s %s\n", f.status.c_str(), f.error.c_str());
        std::exit(1);
    }
    return f.checkpoint;
}

/// N, C, H, W as little-endian uint64, then float32 images (NCHW), then int64 labels.
void writeSubset(const std::string& path, const data::TensorSet& set) {
    std::ofstream out(path, std::ios::binary);
    for (int64_t d : set.inputs.sizes()) {
        const uint64_t v = uint64_t(d);
        out.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
    const torch::Tensor images = set.inputs.contiguous().to(torch::kFloat);
    const torch::Tensor labels = set.labels.contiguous().to(torch::kLong);
    out.write(reinterpret_cast<const char*>(images.data_ptr<float>()),
              std::streamsize(images.numel() * 4));
    out.write(reinterpret_cast<const char*>(labels.data_ptr<int64_t>()),
              std::streamsize(labels.numel() * 8));
    if (!out) {
        std::fprintf(stderr, "cannot write %s\n", path.c_str());
        std::exit(1);
    }
}

struct Timed {
    analysis::TraceEstimate estimate;
    double seconds = 0.0;
};

Timed traces(const analysis::CheckpointSpec& source, const data::TensorSet& subset,
             int traceSamples, bool cacheGraph, std::vector<std::string>& layers) {
    models::Network model = analysis::loadAnalysisModel(source, "float", subset);
    const analysis::PerturbedParams params = analysis::perturbedParameters(*model);
    std::vector<std::vector<std::size_t>> blocks;
    layers.clear();
    for (auto& [path, layer] : model->quantLayers()) {
        for (std::size_t i = 0; i < params.names.size(); ++i) {
            if (params.names[i] == path + ".weight") {
                blocks.push_back({i});
            }
        }
        layers.push_back(path);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const analysis::HvpFunction hvp =
        analysis::modelHvp(*model, params.tensors, subset, kBatch, cacheGraph);
    Timed r;
    r.estimate = analysis::hutchinsonTrace(params.tensors, hvp, blocks, traceSamples, kSeed);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    std::string checkpoint = argc > 1 ? argv[1] : "-";
    const int threads = argc > 2 ? std::atoi(argv[2]) : 0;
    const int64_t samples = argc > 3 ? std::atoll(argv[3]) : 500;
    const int traceSamples = argc > 4 ? std::atoi(argv[4]) : 100;
    const std::string work = argc > 5 ? argv[5] : "bench-hessian";
    std::filesystem::create_directories(work);
    if (checkpoint == "-") {
        checkpoint = trainFloat(work, threads);
    }
    const int used = engine::applyThreadCount(threads);
    const analysis::CheckpointSpec source = analysis::readCheckpointSpec(checkpoint, {});
    const data::TensorSet subset = analysis::analysisSubset(source, true, samples, kSeed);
    writeSubset(work + "/subset.bin", subset);

    std::vector<std::string> layers;
    const Timed cached = traces(source, subset, traceSamples, true, layers);
    const Timed direct = traces(source, subset, traceSamples, false, layers);

    std::printf(
        "ResNet-20 %s, %lld training images (seed %llu), batch %d, %d Rademacher samples, "
        "threads=%d\n",
        checkpoint.c_str(), (long long)subset.size(), (unsigned long long)kSeed, kBatch,
        traceSamples, used);
    std::printf("%-24s %12s %10s\n", "layer", "trace", "se");
    nlohmann::json out{{"checkpoint", checkpoint},         {"samples", subset.size()},
                       {"trace_samples", traceSamples},    {"threads", used},
                       {"seconds_cached", cached.seconds}, {"seconds_recomputed", direct.seconds},
                       {"trace", cached.estimate.trace},   {"trace_se", cached.estimate.traceSe},
                       {"layers", nlohmann::json::array()}};
    for (std::size_t i = 0; i < layers.size(); ++i) {
        std::printf("%-24s %12.5g %10.3g\n", layers[i].c_str(), cached.estimate.blockTrace[i],
                    cached.estimate.blockTraceSe[i]);
        out["layers"].push_back({{"layer", layers[i]},
                                 {"trace", cached.estimate.blockTrace[i]},
                                 {"se", cached.estimate.blockTraceSe[i]}});
    }
    std::printf("%-24s %12.5g %10.3g\n", "total", cached.estimate.trace, cached.estimate.traceSe);
    std::printf("time: %.1f s with cached graphs, %.1f s recomputing them per product\n",
                cached.seconds, direct.seconds);
    std::ofstream(work + "/ours.json") << out.dump(2) << "\n";
    return 0;
}
