// ResNets with stable parameter paths: CIFAR-style ResNet-20/32/44/56 (He et al. 2016, 3 stages
// of 16/32/64 channels, 3x3 stem) and ImageNet-style ResNet-18 (7x7 stem, max-pool, 4 stages).
// Paths follow torchvision: conv1, bn1, layer1.0.conv1, layer2.0.downsample.0, fc.
// Internal header (torch).
#pragma once

#include "engine/models/Network.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <utility>
#include <vector>

namespace qs::models {

struct ResNetOptions {
    explicit ResNetOptions(std::string arch) : arch_(std::move(arch)) {}
    TORCH_ARG(std::string, arch);  ///< resnet20|resnet32|resnet44|resnet56|resnet18
    TORCH_ARG(int64_t, in_channels) = 3;
    TORCH_ARG(int64_t, num_classes) = 10;
};

class BasicBlockImpl : public torch::nn::Module {
public:
    BasicBlockImpl(int64_t in, int64_t out, int64_t stride);
    torch::Tensor forward(const torch::Tensor& x);

    quant::QConv2d conv1{nullptr}, conv2{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
    torch::nn::Sequential downsample{nullptr};  ///< 1x1 conv + BN when the shape changes
};
TORCH_MODULE(BasicBlock);

class ResNetImpl : public NetworkImpl {
public:
    explicit ResNetImpl(ResNetOptions options);
    torch::Tensor forward(const torch::Tensor& input) override;
    const ResNetOptions& options() const { return m_options; }

    quant::QConv2d conv1{nullptr};
    torch::nn::BatchNorm2d bn1{nullptr};
    std::vector<torch::nn::Sequential> stages;  ///< registered as layer1..layerN
    quant::QLinear fc{nullptr};

private:
    ResNetOptions m_options;
    bool m_imagenetStem = false;
};
TORCH_MODULE(ResNet);

/// True for the architectures ResNetImpl accepts.
bool isKnownArch(const std::string& arch);

}  // namespace qs::models
