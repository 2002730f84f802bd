// The trainer: builds the model a RunSpec describes, trains it with the spec's method, evaluates
// each epoch, writes checkpoints, and reports through an EventSink. Internal header (torch).
#pragma once

#include "engine/data/Datasets.h"
#include "engine/models/Network.h"
#include "engine/session/EventSink.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Session.h"

#include <string>

namespace qs::dist {
class Group;
}

namespace qs::train {

struct TrainerContext {
    session::Session::Control* control = nullptr;  ///< pause/cancel; may be null
    session::EventSink* sink = nullptr;
    std::string runDir;   ///< checkpoints: epoch-<n>.safetensors and last.safetensors
    bool resume = false;  ///< continue from runDir/last.safetensors
    /// Data-parallel runs: how rank 0 starts the others (used when spec.distributed.processes
    /// > 1 and `group` is null).
    session::DistributedLaunch launch;
    /// Set in a worker process (rank > 0): the joined group; the worker records nothing.
    dist::Group* group = nullptr;
};

/// Quantizer configuration per layer path after the spec's policy (uniform bits, first/last
/// layer rule, BERT's embedding bits and group-wise ranges, per-layer overrides). Every layer
/// appears, in quantLayers() order; float layers have 0 bits.
std::vector<std::pair<std::string, quant::LayerQuantConfig>> layerConfigs(
    const session::RunSpec& spec, models::NetworkImpl& model);

/// What a model's size depends on in the data.
struct ModelShape {
    int64_t inChannels = 1;   ///< images
    int64_t numClasses = 10;  ///< 1: regression
    int64_t vocabSize = 0;    ///< text: tokens of the vocabulary (the word embedding has at least
                              ///< model.bert.vocab_size rows)
};
ModelShape shapeOf(const data::TensorSet& set);

/// Builds the spec's model (ResNet, or BERT from model.bert or its pretrained folder's
/// config.json) for the data's shape (spec values win when set) and installs the quantizers,
/// BERT's attention matmul quantizers included. Deterministic under torch::manual_seed.
models::Network buildModel(const session::RunSpec& spec, const ModelShape& shape);
/// Images: buildModel with in_channels and classes.
models::Network buildModel(const session::RunSpec& spec, int64_t inChannels, int64_t numClasses);

/// Loads model tensors from a checkpoint. Every float parameter and buffer of the model must be
/// present with the same shape; quantizer tensors are loaded when present (a float checkpoint
/// has none: those quantizers initialise from data). A folder is read as a Hugging Face BERT
/// checkpoint (BERT models only). Throws std::runtime_error naming the file and the tensor.
void loadModelWeights(models::NetworkImpl& model, const std::string& path);

/// The vocabulary a text run's checkpoint stores (one token per line); empty when it has none.
/// Throws std::runtime_error naming the file when it cannot be read.
std::string checkpointVocabulary(const std::string& path);

/// Figures of a model over a split.
struct Evaluation {
    double loss = 0.0;
    double accuracy = 0.0;  ///< NaN for regression
    /// Text: the GLUE task's metrics besides accuracy (mcc, f1, pearson, spearman); f1 of class 1
    /// for other two-class text (SpamAssassin: spam).
    std::map<std::string, double> metrics;
    /// The figure "best" compares: accuracy, or Pearson for regression.
    double score() const;
};

/// Mean loss, accuracy and the task's metrics over a split, in eval mode without gradients.
/// `glueTask` names the GLUE task whose metrics apply (empty: none).
/// With a group, every process evaluates its share of the split and all get the totals.
Evaluation evaluate(models::NetworkImpl& model, const data::TensorSet& set, int batchSize,
                    const std::string& glueTask = {}, dist::Group* group = nullptr);

/// Runs the whole job; never throws: failures come back as a Finished with status "failed".
session::Finished runTraining(const session::RunSpec& spec, const TrainerContext& context);

}  // namespace qs::train
