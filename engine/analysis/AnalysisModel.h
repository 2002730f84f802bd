// What every analysis of a stored checkpoint starts from (sharpness, landscapes, Hessian): the
// checkpoint's own run spec, the model rebuilt from it in one of the evaluation modes, and a
// fixed, seeded data subset. Internal header (torch).
#pragma once

#include "engine/data/Datasets.h"
#include "engine/models/Network.h"
#include "engine/session/RunSpec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qs::analysis {

/// A checkpoint's identity: the spec in its metadata and the training step it was saved at.
struct CheckpointSpec {
    std::string path;
    session::RunSpec spec;
    int64_t step = 0;
    std::string vocabulary;  ///< text runs: the tokenizer's vocabulary, one token per line
};

/// Reads and validates the spec in the checkpoint's metadata; `dataPath` (when set) overrides
/// the spec's dataset folder. Throws std::runtime_error naming the file.
CheckpointSpec readCheckpointSpec(const std::string& checkpoint, const std::string& dataPath);

/// Throws std::invalid_argument unless `mode` is float, dequantized or quantize-after.
void checkMode(const std::string& mode);

/// The modes an analysis uses when none is asked for: float for a float model, dequantized and
/// quantize-after for a quantized one.
std::vector<std::string> defaultModes(const session::RunSpec& spec);

/// A seeded subset of `samples` examples of one split (samples <= 0: the whole split), prepared
/// as training prepared it (images normalised, text tokenized with the checkpoint's vocabulary).
data::TensorSet analysisSubset(const CheckpointSpec& checkpoint, bool trainSplit, int64_t samples,
                               uint64_t seed);

/// The checkpoint's model in eval mode, set up for `mode`:
///   float           latent weights, every quantizer bypassed;
///   dequantized     weights hold Q(w) and are plain floats, activations stay quantized;
///   quantize-after  the model as trained: L(Q(w + e)).
/// Step sizes never require gradients (they are never perturbed). The model's shape (input
/// channels or vocabulary, classes) is that of `data` (the analysis subset).
models::Network loadAnalysisModel(const CheckpointSpec& checkpoint, const std::string& mode,
                                  const data::TensorSet& data);

/// The tensors analyses perturb: every weight and bias of the model, quantizer step sizes and
/// BatchNorm buffers excluded. Paired with their parameter paths.
struct PerturbedParams {
    std::vector<std::string> names;
    std::vector<torch::Tensor> tensors;
};
PerturbedParams perturbedParameters(models::NetworkImpl& model);

}  // namespace qs::analysis
