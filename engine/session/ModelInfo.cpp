#include "engine/session/ModelInfo.h"
#include "engine/session/Versions.h"

#include "engine/data/TextDatasets.h"
#include "engine/train/Trainer.h"

#include <sqlite3.h>
#include <torch/version.h>

namespace qs::session {

std::vector<LayerState> plannedLayers(const RunSpec& spec) {
    spec.validate();
    train::ModelShape shape;
    if (spec.data.dataset == "cifar10" || spec.data.dataset == "cifar100") {
        shape.inChannels = 3;
        shape.numClasses = spec.data.dataset == "cifar100" ? 100 : 10;
    } else if (spec.data.dataset == "spam-assassin") {
        shape.numClasses = 2;
    } else if (spec.data.dataset == "glue") {
        const std::string task = data::glueTaskName(spec.data.task);
        shape.numClasses = task == "MNLI" ? 3 : task == "STS-B" ? 1 : 2;
    }
    // Building the model is cheap (no data; a few ms for ResNet-20, well under a second for a
    // small BERT) and is the one source of truth for layer paths, shapes and the bit policy.
    models::Network model = train::buildModel(spec, shape);
    std::vector<LayerState> out;
    for (auto& [path, layer] : model->quantLayers()) {
        LayerState st;
        st.layer = path;
        st.weightShape = layer->weightShape();
        st.paramCount = layer->quantWeight().numel();
        st.weightBits = layer->weightQuantizer() ? layer->weightQuantizer()->options().bits() : 0;
        st.actBits = layer->inputQuantizer() ? layer->inputQuantizer()->options().bits() : 0;
        out.push_back(std::move(st));
    }
    return out;
}

std::map<std::string, std::string> engineVersions() {
    return {
        {"quantscape", QS_VERSION}, {"libtorch", TORCH_VERSION}, {"sqlite", sqlite3_libversion()}};
}

}  // namespace qs::session
