#include "ReportFixture.h"

#include "engine/io/Sha256.h"
#include "engine/store/RunStore.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace qs::test {

namespace {

namespace fs = std::filesystem;

void writeFile(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

/// A spec in the run store's canonical shape (the fields a report reads, plus the smoke
/// preset's).
std::string specJson(const std::string& name, const std::string& method, int bits,
                     const std::string& init) {
    nlohmann::ordered_json spec = {
        {"version", 1},
        {"name", name},
        {"model", {{"arch", "resnet20"}}},
        {"data",
         {{"dataset", "fashion-mnist"},
          {"path", "/tmp/tiny"},
          {"train_limit", 2048},
          {"test_limit", 1000},
          {"batch_size", 64}}},
        {"method", {{"name", method}, {"squat", {{"rho", 0.05}}}, {"nt", {{"lambda0", 1.0}}}}},
        {"quant", {{"weight_bits", bits}, {"act_bits", bits}, {"per_channel", false}}},
        {"optim", {{"optimizer", "sgd"}, {"lr", 0.05}, {"epochs", 1}}},
        {"init_checkpoint", init},
        {"seed", 1},
        {"threads", 2},
        {"log_every", 4},
        {"state_every", 8}};
    return spec.dump(2);
}

const char* kVersions = R"({"quantscape": "0.1.0", "libtorch": "1.13.1", "sqlite": "3.40.1"})";

}  // namespace

ReportFixture writeReportFixture(const std::string& dir) {
    ReportFixture f;
    f.dbPath = (fs::path(dir) / "runs.sqlite").string();
    const fs::path floatDir = fs::path(dir) / "checkpoints" / "run-1";
    fs::create_directories(floatDir);
    auto store = store::RunStore::open(f.dbPath);

    f.floatRun = store->createRun("tiny-float", specJson("tiny-float", "fp", 4, ""), kVersions);
    store->setCheckpointDir(f.floatRun, floatDir.string());
    store->appendMetrics(f.floatRun, {{10, "train/loss", 2.0},
                                      {20, "train/loss", 1.0},
                                      {20, "eval/acc", 0.9037},
                                      {20, "eval/loss", 0.31}});
    store->setFinalMetrics(f.floatRun, {{"eval/acc", 0.9037}, {"eval/loss", 0.31}});
    store->setStatus(f.floatRun, store::status::kFinished);

    const std::string init = (floatDir / "last.safetensors").string();
    f.quantRun =
        store->createRun("tiny-lsq-w3a3", specJson("tiny-lsq-w3a3", "lsq", 3, init), kVersions);
    store->setCheckpointDir(f.quantRun, (fs::path(dir) / "checkpoints" / "run-2").string());
    std::vector<store::MetricRow> metrics;
    for (int step = 4; step <= 32; step += 4) {
        metrics.push_back({step, "train/loss", 1.5 / std::sqrt(double(step))});
        metrics.push_back({step, "train/acc", 0.5 + 0.01 * step});
    }
    metrics.push_back({16, "eval/acc", 0.75});
    metrics.push_back({32, "eval/acc", 0.8125});
    metrics.push_back({16, "eval/loss", 0.7});
    metrics.push_back({32, "eval/loss", 0.55});
    store->appendMetrics(f.quantRun, metrics);
    std::vector<store::LayerStateRow> states;
    for (int64_t step : {8, 32}) {
        // Step 8's numbers differ from step 32's: the report must show the last step.
        const double k = step == 32 ? 1.0 : 2.0;
        states.push_back({step, "conv1", 8, 8, {0.0123 * k}, 0.5, 1e-6, 2e-6, 0.001, 0.002});
        states.push_back(
            {step, "layer1.0.conv1", 3, 3, {0.0456 * k}, 0.789, 1.25e-4, 3e-4, 0.015, 0.02});
        states.push_back({step, "fc", 8, 0, {0.01 * k, 0.03 * k}, 0.0, 2e-7, 0.0, 0.0, 0.0});
    }
    store->appendLayerStates(f.quantRun, states);
    store->setFinalMetrics(f.quantRun,
                           {{"eval/acc", 0.8125}, {"eval/best_acc", 0.8125}, {"eval/loss", 0.55}});
    store->setStatus(f.quantRun, store::status::kFinished);

    store::SharpnessRow s;
    s.runId = f.quantRun;
    s.checkpoint = init;
    s.step = 32;
    s.measure = "rho-ball";
    s.mode = "dequantized";
    s.radius = 0.05;
    s.value = 0.04321;
    s.baseLoss = 0.55;
    s.perturbedLoss = 0.59321;
    s.ascentSteps = 5;
    s.samples = 64;
    s.seed = 123;
    store->addSharpness(s);

    store::LandscapeRow l;
    l.runId = f.quantRun;
    l.checkpoint = init;
    l.step = 32;
    l.kind = "random";
    l.mode = "dequantized";
    l.nx = 5;
    l.ny = 5;
    l.xMin = -1.0;
    l.xMax = 1.0;
    l.yMin = -1.0;
    l.yMax = 1.0;
    l.seed = 123;
    l.samples = 64;
    l.optionsJson = "{}";
    l.status = store::status::kFinished;
    for (int j = 0; j < 5; ++j) {
        for (int i = 0; i < 5; ++i) {
            const double a = -1.0 + 0.5 * i, b = -1.0 + 0.5 * j;
            l.loss.push_back(0.5 + a * a + 2.0 * b * b);
            l.accuracy.push_back(0.8 - 0.1 * (a * a + b * b));
        }
    }
    store->addLandscape(l);

    store::HessianRow h;
    h.runId = f.quantRun;
    h.checkpoint = init;
    h.step = 32;
    h.mode = "dequantized";
    h.samples = 64;
    h.seed = 123;
    h.traceSamples = 6;
    h.eigenvalues = {12.5, 3.25};
    h.trace = 40.0;
    h.traceSe = 1.5;
    h.layers = {{"conv1", 432, 100000, 5.5, 0.25, {{2, 0.125}, {3, 0.0625}, {4, 0.03125}}},
                {"layer1.0.conv1", 2304, 500000, 17.75, 0.5, {{2, 0.5}, {3, 0.25}, {4, 0.125}}},
                {"fc", 640, 640, 2.5, 0.125, {{2, 0.0078125}, {3, 0.00390625}, {4, 0.002}}}};
    store->addHessian(h);

    f.exportPath = (fs::path(dir) / "export" / "model-w3a3.safetensors").string();
    fs::create_directories(fs::path(f.exportPath).parent_path());
    writeFile(f.exportPath, std::string(std::size_t(kExportBytes), 'q'));
    f.exportSha256 = io::sha256File(f.exportPath);
    store->addArtifact({0, f.quantRun, "safetensors", f.exportPath, f.exportSha256, ""});
    f.encodingsPath = (fs::path(dir) / "export" / "model-w3a3.encodings.json").string();
    writeFile(f.encodingsPath, "{\"activation_encodings\": {}}");
    store->addArtifact(
        {0, f.quantRun, "encodings", f.encodingsPath, io::sha256File(f.encodingsPath), ""});
    writeFile(f.encodingsPath, "{\"activation_encodings\": {\"edited\": 1}}");
    f.onnxPath = (fs::path(dir) / "export" / "model-w3a3.onnx").string();
    store->addArtifact({0, f.quantRun, "onnx", f.onnxPath, std::string(64, '0'), ""});

    f.orphanRun = store->createRun(
        "orphan-lsq", specJson("orphan-lsq", "lsq", 4, "/nowhere/run-9/last.safetensors"),
        kVersions);
    store->setFinalMetrics(f.orphanRun, {{"eval/acc", 0.5}});
    store->setStatus(f.orphanRun, store::status::kFinished);
    return f;
}

}  // namespace qs::test
