#include "engine/export/ExportModel.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/io/Safetensors.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>

#include <stdexcept>

namespace qs::exporting {

namespace {

/// Dimension `dim` of a tensor in the file, or throws naming the file and the tensor.
int64_t dimOf(const io::SafetensorsFile& file, const std::string& name, std::size_t dim) {
    const io::TensorInfo* t = file.find(name);
    if (t == nullptr || t->shape.size() <= dim) {
        throw std::runtime_error(file.context() + ": tensor '" + name +
                                 "' is missing or has too few dimensions");
    }
    return t->shape[dim];
}

}  // namespace

train::ModelShape storedShape(
    const session::RunSpec& spec,
    const std::function<int64_t(const std::string&, std::size_t)>& dimOf) {
    train::ModelShape shape;
    if (spec.isBert()) {
        shape.vocabSize = dimOf("bert.embeddings.word_embeddings.weight", 0);
        shape.numClasses = dimOf("classifier.weight", 0);
    } else {
        shape.inChannels = dimOf("conv1.weight", 1);
        shape.numClasses = dimOf("fc.weight", 0);
    }
    return shape;
}

ExportModel loadExportModel(const std::string& checkpoint) {
    const analysis::CheckpointSpec cs = analysis::readCheckpointSpec(checkpoint, {});
    ExportModel out;
    out.checkpoint = checkpoint;
    out.spec = cs.spec;
    out.step = cs.step;
    out.vocabulary = cs.vocabulary;
    train::ModelShape shape;
    {
        io::SafetensorsFile file;
        try {
            file = io::SafetensorsFile::load(checkpoint);
        } catch (const io::FormatError& e) {
            throw std::runtime_error(std::string("cannot read checkpoint: ") + e.what());
        }
        shape = storedShape(cs.spec, [&](const std::string& name, std::size_t dim) {
            return dimOf(file, name, dim);
        });
    }
    torch::manual_seed(0);  // the initial values are all overwritten; keep the build quiet
    out.model = train::buildModel(cs.spec, shape);
    train::loadModelWeights(*out.model, checkpoint);
    out.model->eval();
    for (auto& q : models::allQuantizers(*out.model)) {
        if (!q->isInitialized()) {
            throw std::runtime_error(checkpoint + ": a quantizer of this " + cs.spec.model.arch +
                                     " model has no step size in the checkpoint (a float "
                                     "checkpoint read with a quantized spec?)");
        }
    }
    out.inChannels = shape.inChannels;
    out.numClasses = shape.numClasses;
    return out;
}

}  // namespace qs::exporting
