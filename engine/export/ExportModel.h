// What every exporter starts from: a checkpoint's model rebuilt as the app evaluates it (the
// spec in its metadata, shapes read from its tensors, every tensor loaded, eval mode), with its
// spec and, for text runs, the vocabulary it tokenized with. Internal header (torch).
#pragma once

#include "engine/models/Network.h"
#include "engine/session/RunSpec.h"
#include "engine/train/Trainer.h"

#include <functional>

#include <cstdint>
#include <string>

namespace qs::exporting {

struct ExportModel {
    std::string checkpoint;
    session::RunSpec spec;
    int64_t step = 0;
    std::string vocabulary;  ///< text runs: one token per line; empty for images
    models::Network model{nullptr};
    int64_t inChannels = 0;  ///< images: channels of the input
    int64_t numClasses = 0;  ///< outputs (1: regression)
};

/// The model shape a stored model implies: input channels and classes of a ResNet (conv1, fc),
/// vocabulary rows and classes of a BERT (word embedding, classifier), read through
/// `dimOf(tensor name, dimension)`, which throws naming the file when it cannot answer.
train::ModelShape storedShape(const session::RunSpec& spec,
                              const std::function<int64_t(const std::string&, std::size_t)>& dimOf);

/// Rebuilds and loads the checkpoint's model. The quantizers are those its spec configures,
/// with the step sizes it stores; the model computes exactly what training evaluated (weights
/// quantized on the fly: Q(w), activations quantized). Throws std::runtime_error naming the
/// file for a checkpoint without a usable spec or with tensors that do not fit it.
ExportModel loadExportModel(const std::string& checkpoint);

}  // namespace qs::exporting
