#include "engine/analysis/AnalysisModel.h"

#include "engine/io/Safetensors.h"
#include "engine/train/Methods.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>

#include <stdexcept>

namespace qs::analysis {

CheckpointSpec readCheckpointSpec(const std::string& checkpoint, const std::string& dataPath) {
    CheckpointSpec c;
    c.path = checkpoint;
    std::string specJson, stepText;
    try {
        const io::SafetensorsFile file = io::SafetensorsFile::load(checkpoint);
        auto it = file.metadata().find("spec");
        if (it == file.metadata().end()) {
            throw std::runtime_error(
                checkpoint + ": no run spec in its metadata (not a Quantscape checkpoint?)");
        }
        specJson = it->second;
        auto st = file.metadata().find("step");
        stepText = st == file.metadata().end() ? "0" : st->second;
    } catch (const io::FormatError& e) {
        throw std::runtime_error(std::string("cannot read checkpoint: ") + e.what());
    }
    try {
        c.spec = session::RunSpec::fromJson(specJson);
    } catch (const session::SpecError& e) {
        throw std::runtime_error(checkpoint + ": its run spec is not usable: " + e.what());
    }
    try {
        c.step = std::stoll(stepText);
    } catch (const std::logic_error&) {
        throw std::runtime_error(checkpoint + ": metadata 'step' is not a number");
    }
    if (!dataPath.empty()) {
        c.spec.data.path = dataPath;
    }
    if (c.spec.isBert()) {
        c.vocabulary = train::checkpointVocabulary(checkpoint);
    }
    return c;
}

void checkMode(const std::string& mode) {
    if (mode != "float" && mode != "dequantized" && mode != "quantize-after") {
        throw std::invalid_argument("unknown evaluation mode '" + mode +
                                    "' (float, dequantized or quantize-after)");
    }
}

std::vector<std::string> defaultModes(const session::RunSpec& spec) {
    return spec.isQuantized() ? std::vector<std::string>{"dequantized", "quantize-after"}
                              : std::vector<std::string>{"float"};
}

data::TensorSet analysisSubset(const CheckpointSpec& checkpoint, bool trainSplit, int64_t samples,
                               uint64_t seed) {
    const data::SplitRequest request{std::max<int64_t>(0, samples), seed};
    data::RunData all = data::loadRunData(checkpoint.spec, request, request, checkpoint.vocabulary);
    data::TensorSet subset = trainSplit ? std::move(all.train) : std::move(all.test);
    if (subset.size() < 1) {
        throw std::runtime_error("the " + std::string(trainSplit ? "training" : "test") +
                                 " split of " + checkpoint.spec.data.dataset + " is empty");
    }
    return subset;
}

models::Network loadAnalysisModel(const CheckpointSpec& checkpoint, const std::string& mode,
                                  const data::TensorSet& data) {
    checkMode(mode);
    models::Network model = train::buildModel(checkpoint.spec, train::shapeOf(data));
    train::loadModelWeights(*model, checkpoint.path);
    model->eval();
    if (mode != "quantize-after") {
        torch::NoGradGuard noGrad;
        for (auto& [path, layer] : model->quantLayers()) {
            if (mode == "dequantized" && layer->weightQuantizer()) {
                layer->quantWeight().copy_(layer->quantizedWeight().detach());
            }
            layer->setBypass(true, mode == "float");
        }
        model->setActivationBypass(mode == "float");
    }
    for (auto& item : model->named_parameters()) {
        if (train::isQuantizerParameter(item.key())) {
            item.value().set_requires_grad(false);  // step sizes are never perturbed
        }
    }
    return model;
}

PerturbedParams perturbedParameters(models::NetworkImpl& model) {
    PerturbedParams p;
    for (auto& item : model.named_parameters()) {
        if (!train::isQuantizerParameter(item.key())) {
            p.names.push_back(item.key());
            p.tensors.push_back(item.value());
        }
    }
    return p;
}

}  // namespace qs::analysis
