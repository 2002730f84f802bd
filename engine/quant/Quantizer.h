// One quantizer per quantized tensor (a layer's weight or its input), LSQ by default.
// Internal header (torch). Every quantizer reports the same QuantizerState.
#pragma once

#include "engine/quant/LsqFunction.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace qs::quant {

/// How LSQ's N in g = 1/sqrt(N*Qp) is counted.
enum class GradScaleMode { Numel, PerSample };

struct QuantizerOptions {
    QuantizerOptions(int bits, bool is_signed) : bits_(bits), is_signed_(is_signed) {}
    TORCH_ARG(int, bits);
    TORCH_ARG(bool, is_signed);
    /// >0: one step size per slice along dim 0 (output channel); 0: one per tensor.
    TORCH_ARG(int64_t, channels) = 0;
    TORCH_ARG(GradScaleMode, grad_scale) = GradScaleMode::Numel;
    /// The input arrives before its ReLU; an unsigned range applies the ReLU itself (it clamps
    /// at 0 with a zero gradient below, exactly as ReLU then LSQ would), saving the ReLU's
    /// passes over memory. Initialisation and statistics then see max(x, 0).
    TORCH_ARG(bool, relu_input) = false;
};

/// What every quantizer reports (DESIGN.md "Quantizer"): copied out as plain values.
struct QuantizerState {
    int bits = 0;
    bool isSigned = true;
    std::vector<double> steps;
    double zeroPoint = 0.0;
    double lastError = 0.0;  ///< mean squared quantization error of the last observed forward
    double clipRate = 0.0;   ///< fraction of elements clipped in the last observed forward
};

/// LSQ quantizer: learned step size `step_size`, initialised from the first tensor it sees
/// (s = 2 mean|v| / sqrt(Qp), per channel when per-channel). `initialized` is a buffer so a
/// checkpoint restores it.
class QuantizerImpl : public torch::nn::Module {
public:
    explicit QuantizerImpl(QuantizerOptions options);
    void reset();
    torch::Tensor forward(const torch::Tensor& x);

    /// LSQ initialisation from a tensor (weights, or the first batch of activations).
    void initializeFrom(const torch::Tensor& x);
    bool isInitialized() const;
    /// While on, each forward also records the quantization error and clip rate.
    void setObserving(bool on) { m_observing = on; }
    QuantizerState state() const;
    const QuantizerOptions& options() const { return m_options; }

    torch::Tensor step_size;
    torch::Tensor initialized;

private:
    QuantizerOptions m_options;
    QuantRange m_range;
    bool m_observing = false;
    LsqStats m_lastStats;
};
TORCH_MODULE(Quantizer);

}  // namespace qs::quant
