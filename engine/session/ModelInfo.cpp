#include "engine/session/ModelInfo.h"
#include "engine/session/Versions.h"

#include "engine/train/Trainer.h"

#include <sqlite3.h>
#include <torch/version.h>

namespace qs::session {

std::vector<LayerState> plannedLayers(const RunSpec& spec) {
    spec.validate();
    int64_t channels = 1, classes = 10;
    if (spec.data.dataset == "cifar10" || spec.data.dataset == "cifar100") {
        channels = 3;
        classes = spec.data.dataset == "cifar100" ? 100 : 10;
    }
    // Building the model is cheap (no data, a few ms for ResNet-20) and is the one source of
    // truth for layer paths, shapes and the bit policy.
    models::ResNet model = train::buildModel(spec, channels, classes);
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
