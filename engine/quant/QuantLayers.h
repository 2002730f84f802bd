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
    /// > 0: group-wise weight step sizes (Q-BERT), one per group of this many consecutive output
    /// rows; outChannels() must be a multiple of it. Wins over perChannel.
    int64_t groupRows = 0;
    GradScaleMode gradScale = GradScaleMode::Numel;
    bool learnGradScale = false;  ///< noise tempering's learnable kappa on g
};

/// What every quantizable layer shares: the two slots and their state.
class QuantLayer {
public:
    virtual ~QuantLayer() = default;
    /// Installs (or removes, for 0 bits) the quantizers. Throws std::invalid_argument when
    /// groupRows does not divide the output rows.
    void configureQuantizers(const LayerQuantConfig& config);
    /// False for layers whose input is not a tensor of values (an embedding's token ids): they
    /// never get an input quantizer.
    virtual bool hasInputSlot() const { return true; }
    Quantizer weightQuantizer() const { return m_weightQuantizer; }
    Quantizer inputQuantizer() const { return m_inputQuantizer; }
    bool inputSigned() const { return m_inputSigned; }
    bool inputRelu() const { return m_inputRelu; }
    virtual const torch::Tensor& quantWeight() const = 0;
    virtual int64_t outChannels() const = 0;
    std::vector<int64_t> weightShape() const { return quantWeight().sizes().vec(); }
    /// The weight as its quantizer sees it: [groups, rows per group x columns] when group-wise,
    /// else the weight itself (for calibration and step-size statistics).
    torch::Tensor weightQuantizerView() const;
    /// Q(w) in the weight's shape, no offset; the weight itself without a weight quantizer.
    torch::Tensor quantizedWeight();
    /// A bypassed slot acts as empty (float). Sharpness's "dequantized" mode bypasses the weight
    /// slot of a network whose weights hold Q(w); its "float" mode bypasses both.
    void setBypass(bool weight, bool input) {
        m_bypassWeight = weight;
        m_bypassInput = input;
    }
    /// How many times per sample the last forward applied the weight: a conv's output positions,
    /// a linear layer's rows per sample (tokens, for BERT's encoder), 0 for an embedding (a
    /// lookup has no multiply-accumulates). Multiply-accumulates per sample = this x numel.
    int64_t positionsPerSample() const { return m_positions; }
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
    void setPositionsPerSample(int64_t n) { m_positions = n; }

private:
    Quantizer m_weightQuantizer{nullptr};
    int64_t m_groupRows = 0;
    int64_t m_positions = 0;
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

/// An embedding table with a weight quantizer slot (BERT's word embedding): the lookup reads rows
/// of Q(weight). Paths are torch::nn::Embedding's (weight).
class QEmbeddingImpl : public torch::nn::Module, public QuantLayer {
public:
    /// padding_idx < 0: none. The weight starts N(0, 1) with a zero padding row (torch's init).
    QEmbeddingImpl(int64_t count, int64_t dim, int64_t paddingIdx = -1);
    torch::Tensor forward(const torch::Tensor& ids);
    const torch::Tensor& quantWeight() const override { return weight; }
    int64_t outChannels() const override { return weight.size(0); }
    bool hasInputSlot() const override { return false; }

    torch::Tensor weight;

protected:
    torch::nn::Module& asModule() override { return *this; }

private:
    int64_t m_paddingIdx;
};
TORCH_MODULE(QEmbedding);

}  // namespace qs::quant
