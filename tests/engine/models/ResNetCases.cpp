// Torch side of test_resnet (no Qt here).
#include "ResNetCases.h"

#include "engine/models/ResNet.h"
#include "engine/quant/QuantLayers.h"

#include <torch/torch.h>

#include <stdexcept>

namespace qs::test::resnet {

namespace {

models::ResNet build(const std::string& arch, int64_t inChannels, int64_t numClasses) {
    return models::ResNet(
        models::ResNetOptions(arch).in_channels(inChannels).num_classes(numClasses));
}

}  // namespace

Structure describe(const std::string& arch, int64_t inChannels, int64_t numClasses) {
    models::ResNet net = build(arch, inChannels, numClasses);
    Structure s;
    for (const auto& item : net->named_parameters()) {
        s.parameters.push_back({item.key(), item.value().sizes().vec()});
        s.parameterCount += item.value().numel();
    }
    for (const auto& item : net->named_buffers()) {
        s.buffers.push_back(item.key());
    }
    for (const auto& [path, layer] : net->quantLayers()) {
        s.quantLayers.push_back(path);
        s.quantWeightShapes.push_back(layer->weightShape());
    }
    for (const auto& item : net->named_modules("", /*include_self=*/false)) {
        if (item.value()->as<quant::QConv2d>() != nullptr) {
            ++s.convModules;
        }
        if (item.value()->as<quant::QLinear>() != nullptr) {
            ++s.linearModules;
        }
    }
    return s;
}

std::vector<std::string> quantizedParameterPaths(const std::string& arch) {
    models::ResNet net = build(arch, 3, 10);
    quant::LayerQuantConfig config;
    config.weightBits = 4;
    config.actBits = 4;
    for (const auto& [path, layer] : net->quantLayers()) {
        layer->configureQuantizers(config);
    }
    std::vector<std::string> out;
    for (const auto& item : net->named_parameters()) {
        out.push_back(item.key());
    }
    return out;
}

std::vector<int64_t> forwardShape(const std::string& arch, int64_t inChannels, int64_t numClasses,
                                  int64_t batch, int64_t height, int64_t width) {
    torch::manual_seed(3);
    models::ResNet net = build(arch, inChannels, numClasses);
    net->eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor out = net->forward(torch::randn({batch, inChannels, height, width}));
    TORCH_CHECK(torch::isfinite(out).all().item<bool>(), "non-finite logits");
    return out.sizes().vec();
}

std::string constructionError(const std::string& arch) {
    try {
        build(arch, 3, 10);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

bool knownArch(const std::string& arch) {
    return models::isKnownArch(arch);
}

}  // namespace qs::test::resnet
