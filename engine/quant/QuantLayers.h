// Conv2d and Linear with a weight quantizer slot and an input quantizer slot. An empty slot
// means exact float behaviour, so one model class serves float and quantized runs and the
// parameter paths (layer1.0.conv1.weight) never change. Internal header (torch).
#pragma once

#include "engine/quant/Quantizer.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <optional>
#include <string>

namespace qs::quant {

/// Bits and options for one quantized layer; 0 bits = that slot stays float.
struct LayerQuantConfig {
    int weightBits = 0;
    int actBits = 0;
    bool perChannel = false;
    GradScaleMode gradScale = GradScaleMode::Numel;
    bool learnGradScale = false;  ///< noise tempering's learnable kappa on g
};

/// What every quantizable layer shares: the two slots and their state.
class QuantLayer {
public:
    virtual ~QuantLayer() = default;
    /// Installs (or removes, for 0 bits) the quantizers.
    void configureQuantizers(const LayerQuantConfig& config);
    Quantizer weightQuantizer() const { return m_weightQuantizer; }
    Quantizer inputQuantizer() const { return m_inputQuantizer; }
    bool inputSigned() const { return m_inputSigned; }
    bool inputRelu() const { return m_inputRelu; }
    virtual const torch::Tensor& quantWeight() const = 0;
    virtual int64_t outChannels() const = 0;
    std::vector<int64_t> weightShape() const { return quantWeight().sizes().vec(); }
    /// A bypassed slot acts as empty (float). Sharpness's "dequantized" mode bypasses the weight
    /// slot of a network whose weights hold Q(w); its "float" mode bypasses both.
    void setBypass(bool weight, bool input) {
        m_bypassWeight = weight;
        m_bypassInput = input;
    }
    /// Added to the weight after its quantizer (an undefined tensor: nothing): SQuAT's
    /// perturbation at the "quantized" site, Q(w) + e.
    void setWeightOffset(torch::Tensor offset) { m_weightOffset = std::move(offset); }

protected:
    QuantLayer(bool inputSigned, bool inputRelu)
        : m_inputSigned(inputSigned), m_inputRelu(inputRelu) {}
    virtual torch::nn::Module& asModule() = 0;
    /// Applies the slots: returns (possibly quantized) input and weight.
    torch::Tensor quantizeInput(const torch::Tensor& x);
    torch::Tensor quantizeWeight(const torch::Tensor& w);

private:
    Quantizer m_weightQuantizer{nullptr};
    Quantizer m_inputQuantizer{nullptr};
    bool m_inputSigned;
    bool m_inputRelu;
    bool m_bypassWeight = false;
    bool m_bypassInput = false;
    torch::Tensor m_weightOffset;
};

struct QConv2dOptions {
    QConv2dOptions(int64_t in, int64_t out, int64_t kernel)
        : in_channels_(in), out_channels_(out), kernel_size_(kernel) {}
    TORCH_ARG(int64_t, in_channels);
    TORCH_ARG(int64_t, out_channels);
    TORCH_ARG(int64_t, kernel_size);
    TORCH_ARG(int64_t, stride) = 1;
    TORCH_ARG(int64_t, padding) = 0;
    TORCH_ARG(bool, bias) = false;
    /// Whether the input can be negative (signed activation range); post-ReLU inputs are not.
    TORCH_ARG(bool, input_signed) = false;
    /// The input arrives before its ReLU and the layer applies it; with an (unsigned) input
    /// quantizer the ReLU is fused into it. The forward is the same as ReLU then this layer.
    TORCH_ARG(bool, input_relu) = false;
};

class QConv2dImpl : public torch::nn::Module, public QuantLayer {
public:
    explicit QConv2dImpl(QConv2dOptions options);
    void reset();
    torch::Tensor forward(const torch::Tensor& x);
    const torch::Tensor& quantWeight() const override { return weight; }
    int64_t outChannels() const override { return m_options.out_channels(); }

    torch::Tensor weight;
    torch::Tensor bias;

protected:
    torch::nn::Module& asModule() override { return *this; }

private:
    QConv2dOptions m_options;
};
TORCH_MODULE(QConv2d);

struct QLinearOptions {
    QLinearOptions(int64_t in, int64_t out) : in_features_(in), out_features_(out) {}
    TORCH_ARG(int64_t, in_features);
    TORCH_ARG(int64_t, out_features);
    TORCH_ARG(bool, bias) = true;
    TORCH_ARG(bool, input_signed) = false;
};

class QLinearImpl : public torch::nn::Module, public QuantLayer {
public:
    explicit QLinearImpl(QLinearOptions options);
    void reset();
    torch::Tensor forward(const torch::Tensor& x);
    const torch::Tensor& quantWeight() const override { return weight; }
    int64_t outChannels() const override { return m_options.out_features(); }

    torch::Tensor weight;
    torch::Tensor bias;

protected:
    torch::nn::Module& asModule() override { return *this; }

private:
    QLinearOptions m_options;
};
TORCH_MODULE(QLinear);

}  // namespace qs::quant
