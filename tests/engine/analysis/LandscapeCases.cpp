// Torch side of test_landscape (no Qt here: the two header families must not meet in one file).
#include "LandscapeCases.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/analysis/LandscapeCore.h"
#include "engine/session/RunSpec.h"
#include "engine/train/Methods.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>

namespace qs::test::landscape {

namespace {

std::vector<double> filterNorms(const torch::Tensor& t) {
    const torch::Tensor n =
        t.detach().to(torch::kDouble).reshape({t.size(0), -1}).norm(2, {1}).contiguous();
    return std::vector<double>(n.data_ptr<double>(), n.data_ptr<double>() + n.numel());
}

std::vector<DirectionTensor> describe(const analysis::LandscapeDirections& d,
                                      const std::vector<torch::Tensor>& directions,
                                      models::NetworkImpl& model) {
    const auto params = model.named_parameters();
    std::vector<DirectionTensor> out;
    for (std::size_t i = 0; i < d.names.size(); ++i) {
        DirectionTensor t;
        t.name = d.names[i];
        const torch::Tensor& w = params[d.names[i]];
        t.dim = w.dim();
        t.maxAbs = directions[i].abs().max().item<double>();
        if (w.dim() > 1) {
            t.directionFilterNorms = filterNorms(directions[i]);
            t.weightFilterNorms = filterNorms(w);
        }
        out.push_back(std::move(t));
    }
    return out;
}

bool sameTensors(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!torch::equal(a[i], b[i])) {
            return false;
        }
    }
    return true;
}

}  // namespace

DirectionsSeen randomDirectionsOfTinyModel(bool perChannel, uint64_t seed) {
    session::RunSpec spec;
    spec.method.name = "lsq";
    spec.quant.perChannel = perChannel;
    torch::manual_seed(5);
    models::Network model = train::buildModel(spec, 1, 4);
    for (auto& [path, layer] : model->quantLayers()) {
        layer->setBypass(true, true);  // float forward: nothing initialises from data
    }
    DirectionsSeen seen;
    for (const auto& item : model->named_parameters()) {
        if (train::isQuantizerParameter(item.key())) {
            seen.quantizerParams.push_back(item.key());
        }
    }
    const analysis::LandscapeDirections d = analysis::randomDirections(*model, seed, true);
    seen.dx = describe(d, d.dx, *model);
    seen.dy = describe(d, d.dy, *model);
    const analysis::LandscapeDirections again = analysis::randomDirections(*model, seed, true);
    const analysis::LandscapeDirections other = analysis::randomDirections(*model, seed + 1, true);
    const analysis::LandscapeDirections curve = analysis::randomDirections(*model, seed, false);
    seen.sameSeedGivesSameDirections = sameTensors(d.dx, again.dx) && sameTensors(d.dy, again.dy);
    seen.otherSeedGivesOtherDirections = !sameTensors(d.dx, other.dx);
    seen.curveDxEqualsSurfaceDx = sameTensors(d.dx, curve.dx) && curve.dy.empty();

    std::vector<torch::Tensor> steps, weights;
    for (const auto& item : model->named_parameters()) {
        (train::isQuantizerParameter(item.key()) ? steps : weights)
            .push_back(item.value().detach().clone());
    }
    data::TensorSet subset;
    subset.inputs = torch::randn({8, 1, 12, 12});
    subset.labels = torch::arange(8, torch::kLong) % 4;
    subset.numClasses = 4;
    analysis::PointEvaluator evaluator(model, d, subset, 4);
    evaluator.evaluate(1.0, 1.0);
    std::vector<torch::Tensor> stepsAfter, weightsAfter;
    for (const auto& item : model->named_parameters()) {
        (train::isQuantizerParameter(item.key()) ? stepsAfter : weightsAfter)
            .push_back(item.value().detach().clone());
    }
    seen.stepSizesUnmovedAtOneOne = sameTensors(steps, stepsAfter);
    seen.weightsMovedAtOneOne = !sameTensors(weights, weightsAfter);
    evaluator.restore();
    std::vector<torch::Tensor> restored;
    for (const auto& item : model->named_parameters()) {
        if (!train::isQuantizerParameter(item.key())) {
            restored.push_back(item.value().detach().clone());
        }
    }
    seen.restoreIsExact = sameTensors(weights, restored);
    return seen;
}

double plainLoss(const std::string& checkpoint, const std::string& mode, int64_t samples,
                 uint64_t seed, bool testSplit, const std::string& dataPath, int batchSize) {
    const analysis::CheckpointSpec source = analysis::readCheckpointSpec(checkpoint, dataPath);
    const data::TensorSet subset = analysis::analysisSubset(source, !testSplit, samples, seed);
    models::Network model = analysis::loadAnalysisModel(source, mode, subset);
    return train::evaluate(*model, subset, batchSize).loss;
}

}  // namespace qs::test::landscape
