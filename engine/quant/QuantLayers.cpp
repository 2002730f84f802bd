#include "engine/quant/QuantLayers.h"

#include <torch/nn/functional/conv.h>
#include <torch/nn/init.h>
#include <torch/torch.h>

#include <cmath>

namespace qs::quant {

void QuantLayer::configureQuantizers(const LayerQuantConfig& config) {
    torch::nn::Module& self = asModule();
    if (m_weightQuantizer) {
        self.unregister_module("weight_quantizer");
        m_weightQuantizer = nullptr;
    }
    if (m_inputQuantizer) {
        self.unregister_module("input_quantizer");
        m_inputQuantizer = nullptr;
    }
    m_groupRows = 0;
    if (config.weightBits > 0) {
        QuantizerOptions o(config.weightBits, /*is_signed=*/true);
        o.channels(config.perChannel ? outChannels() : 0);
        if (config.groupRows > 0) {
            if (outChannels() % config.groupRows != 0) {
                throw std::invalid_argument(
                    "group-wise quantization: " + std::to_string(outChannels()) +
                    " output rows are not a multiple of groups of " +
                    std::to_string(config.groupRows));
            }
            m_groupRows = config.groupRows;
            o.channels(outChannels() / config.groupRows);
        }
        o.learn_grad_scale(config.learnGradScale);
        m_weightQuantizer = self.register_module("weight_quantizer", Quantizer(o));
    }
    if (config.actBits > 0 && hasInputSlot()) {
        QuantizerOptions o(config.actBits, m_inputSigned);
        o.grad_scale(config.gradScale);
        o.relu_input(m_inputRelu && !m_inputSigned);
        o.learn_grad_scale(config.learnGradScale);
        m_inputQuantizer = self.register_module("input_quantizer", Quantizer(o));
    }
}

torch::Tensor QuantLayer::quantizeInput(const torch::Tensor& x) {
    const bool quantize = m_inputQuantizer && !m_bypassInput;
    if (quantize && m_inputQuantizer->options().relu_input()) {
        return m_inputQuantizer->forward(x);  // the unsigned range is the ReLU
    }
    const torch::Tensor in = m_inputRelu ? torch::relu(x) : x;
    return quantize ? m_inputQuantizer->forward(in) : in;
}

torch::Tensor QuantLayer::weightQuantizerView() const {
    const torch::Tensor& w = quantWeight();
    // Group-wise: one step per row of [groups, rows per group x columns].
    return m_groupRows > 0 ? w.reshape({w.size(0) / m_groupRows, -1}) : w;
}

torch::Tensor QuantLayer::quantizedWeight() {
    if (!m_weightQuantizer) {
        return quantWeight();
    }
    return m_weightQuantizer->forward(weightQuantizerView()).reshape(quantWeight().sizes());
}

torch::Tensor QuantLayer::quantizeWeight(const torch::Tensor& w) {
    torch::Tensor out = w;
    if (m_weightQuantizer && !m_bypassWeight) {
        out = m_groupRows > 0 ? m_weightQuantizer->forward(w.reshape({w.size(0) / m_groupRows, -1}))
                                    .reshape(w.sizes())
                              : m_weightQuantizer->forward(w);
    }
    return m_weightOffset.defined() ? out + m_weightOffset : out;
}

QConv2dImpl::QConv2dImpl(QConv2dOptions options)
    : QuantLayer(options.input_signed(), options.input_relu()), m_options(std::move(options)) {
    reset();
}

void QConv2dImpl::reset() {
    const auto& o = m_options;
    weight = register_parameter("weight", torch::empty({o.out_channels(), o.in_channels(),
                                                        o.kernel_size(), o.kernel_size()}));
    // He (fan-out) initialisation, as torchvision's ResNets do.
    torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
    if (o.bias()) {
        bias = register_parameter("bias", torch::zeros({o.out_channels()}));
    }
}

torch::Tensor QConv2dImpl::forward(const torch::Tensor& x) {
    torch::Tensor y = torch::conv2d(quantizeInput(x), quantizeWeight(weight), bias,
                                    m_options.stride(), m_options.padding());
    setPositionsPerSample(y.dim() == 4 ? y.size(2) * y.size(3) : 1);
    return y;
}

QLinearImpl::QLinearImpl(QLinearOptions options)
    : QuantLayer(options.input_signed(), false), m_options(std::move(options)) {
    reset();
}

void QLinearImpl::reset() {
    const auto& o = m_options;
    weight = register_parameter("weight", torch::empty({o.out_features(), o.in_features()}));
    // torch.nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
    const double bound = 1.0 / std::sqrt(double(o.in_features()));
    torch::nn::init::uniform_(weight, -bound, bound);
    if (o.bias()) {
        bias = register_parameter("bias", torch::empty({o.out_features()}));
        torch::nn::init::uniform_(bias, -bound, bound);
    }
}

torch::Tensor QLinearImpl::forward(const torch::Tensor& x) {
    if (x.dim() >= 2 && x.size(0) > 0) {
        setPositionsPerSample(x.numel() / (x.size(0) * std::max<int64_t>(1, x.size(-1))));
    }
    return torch::linear(quantizeInput(x), quantizeWeight(weight), bias);
}

QEmbeddingImpl::QEmbeddingImpl(int64_t count, int64_t dim, int64_t paddingIdx)
    : QuantLayer(/*inputSigned=*/true, /*inputRelu=*/false), m_paddingIdx(paddingIdx) {
    weight = register_parameter("weight", torch::randn({count, dim}));
    if (paddingIdx >= 0) {
        torch::NoGradGuard noGrad;
        weight[paddingIdx].zero_();
    }
}

torch::Tensor QEmbeddingImpl::forward(const torch::Tensor& ids) {
    return torch::embedding(quantizeWeight(weight), ids, m_paddingIdx);
}

}  // namespace qs::quant
