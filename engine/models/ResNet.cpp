#include "engine/models/ResNet.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>
#include <torch/torch.h>

#include <stdexcept>

namespace qs::models {

namespace {

struct ArchShape {
    bool imagenet = false;
    std::vector<int64_t> blocks;
    std::vector<int64_t> widths;
};

ArchShape archShape(const std::string& arch) {
    if (arch == "resnet18") {
        return {true, {2, 2, 2, 2}, {64, 128, 256, 512}};
    }
    const std::pair<const char*, int64_t> cifar[] = {
        {"resnet20", 3}, {"resnet32", 5}, {"resnet44", 7}, {"resnet56", 9}};
    for (const auto& [name, n] : cifar) {
        if (arch == name) {
            return {false, {n, n, n}, {16, 32, 64}};
        }
    }
    throw std::invalid_argument("unknown ResNet architecture \"" + arch + "\"");
}

torch::nn::BatchNorm2d batchNorm(int64_t channels) {
    return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels));
}

}  // namespace

bool isKnownArch(const std::string& arch) {
    try {
        archShape(arch);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1 = register_module(
        "conv1", quant::QConv2d(quant::QConv2dOptions(in, out, 3).stride(stride).padding(1)));
    bn1 = register_module("bn1", batchNorm(out));
    // conv2 applies the ReLU after bn1 itself: fused into its input quantizer when quantized.
    conv2 = register_module(
        "conv2", quant::QConv2d(quant::QConv2dOptions(out, out, 3).padding(1).input_relu(true)));
    bn2 = register_module("bn2", batchNorm(out));
    if (stride != 1 || in != out) {
        downsample = register_module(
            "downsample",
            torch::nn::Sequential(quant::QConv2d(quant::QConv2dOptions(in, out, 1).stride(stride)),
                                  batchNorm(out)));
    }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
    torch::Tensor out = bn2(conv2(bn1(conv1(x))));
    out += downsample ? downsample->forward(x) : x;
    return torch::relu(out);
}

ResNetImpl::ResNetImpl(ResNetOptions options) : m_options(std::move(options)) {
    const ArchShape shape = archShape(m_options.arch());
    m_imagenetStem = shape.imagenet;
    const int64_t stemWidth = shape.widths.front();
    // The stem sees the normalised image, which is signed; every later layer sees post-ReLU input.
    conv1 = register_module("conv1",
                            quant::QConv2d(quant::QConv2dOptions(m_options.in_channels(), stemWidth,
                                                                 m_imagenetStem ? 7 : 3)
                                               .stride(m_imagenetStem ? 2 : 1)
                                               .padding(m_imagenetStem ? 3 : 1)
                                               .input_signed(true)));
    bn1 = register_module("bn1", batchNorm(stemWidth));
    int64_t in = stemWidth;
    for (std::size_t s = 0; s < shape.blocks.size(); ++s) {
        torch::nn::Sequential stage;
        const int64_t width = shape.widths[s];
        for (int64_t b = 0; b < shape.blocks[s]; ++b) {
            const int64_t stride = (b == 0 && s > 0) ? 2 : 1;
            stage->push_back(BasicBlock(in, width, stride));
            in = width;
        }
        stages.push_back(register_module("layer" + std::to_string(s + 1), stage));
    }
    fc = register_module("fc", quant::QLinear(quant::QLinearOptions(in, m_options.num_classes())));
}

torch::Tensor ResNetImpl::forward(const torch::Tensor& input) {
    torch::Tensor x = torch::relu(bn1(conv1(input)));
    if (m_imagenetStem) {
        x = torch::max_pool2d(x, 3, 2, 1);
    }
    for (auto& stage : stages) {
        x = stage->forward(x);
    }
    x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
    return fc(x);
}

}  // namespace qs::models
