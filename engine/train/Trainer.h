// The trainer: builds the model a RunSpec describes, trains it with the spec's method, evaluates
// each epoch, writes checkpoints, and reports through an EventSink. Internal header (torch).
#pragma once

#include "engine/data/Datasets.h"
#include "engine/models/ResNet.h"
#include "engine/session/EventSink.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"

#include <string>

namespace qs::train {

struct TrainerContext {
    session::Session::Control* control = nullptr;  ///< pause/cancel; may be null
    session::EventSink* sink = nullptr;
    std::string runDir;   ///< checkpoints: epoch-<n>.safetensors and last.safetensors
    bool resume = false;  ///< continue from runDir/last.safetensors
};

/// Quantizer configuration per layer path after the spec's policy (uniform bits, first/last
/// layer rule, per-layer overrides). Every layer appears; float layers have 0 bits.
std::vector<std::pair<std::string, quant::LayerQuantConfig>> layerConfigs(
    const session::RunSpec& spec, models::ResNetImpl& model);

/// Builds the spec's model for the given input channels and classes (spec values win when set)
/// and installs the quantizers. Deterministic under torch::manual_seed.
models::ResNet buildModel(const session::RunSpec& spec, int64_t inChannels, int64_t numClasses);

/// Loads model tensors from a checkpoint. Every float parameter and buffer of the model must be
/// present with the same shape; quantizer tensors are loaded when present (a float checkpoint
/// has none: those quantizers initialise from data). Throws std::runtime_error naming the file
/// and the tensor.
void loadModelWeights(models::ResNetImpl& model, const std::string& path);

/// Mean loss and accuracy over a split, in eval mode without gradients.
std::pair<double, double> evaluate(models::ResNetImpl& model, const data::TensorSet& set,
                                   int batchSize);

/// Runs the whole job; never throws: failures come back as a Finished with status "failed".
session::Finished runTraining(const session::RunSpec& spec, const TrainerContext& context);

}  // namespace qs::train
