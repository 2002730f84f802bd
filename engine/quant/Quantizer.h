// One quantizer per quantized tensor (a layer's weight or its input), LSQ by default.
// Internal header (torch). Every quantizer reports the same QuantizerState.
#pragma once

#include "engine/quant/LsqFunction.h"

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <functional>
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
    /// Noise tempering's learnable multiplier kappa on g (a parameter log_grad_scale, kappa =
    /// exp(log_grad_scale), starting at 1).
    TORCH_ARG(bool, learn_grad_scale) = false;
};

/// Noise tempering (ALGORITHMS.md section 4): in training, the forward value becomes
/// x_q + lambda * a * xi with a = |x_q - x| (or s / 2) and xi ~ U(-1, 1) (or N(0, 1)).
/// Gradients: the input gets LSQ's straight-through gradient; the step size gets the exact
/// derivative of the noisy forward, g kappa sum(dy * dx_q/ds * (1 + lambda xi sign(e))) for the
/// |e| amplitude, g kappa sum(dy * (dx_q/ds + lambda xi / 2)) for s / 2.
struct NoiseOptions {
    bool enabled = false;
    bool normal = false;    ///< xi ~ N(0, 1) instead of U(-1, 1)
    bool halfStep = false;  ///< amplitude s / 2 instead of |e|
};

/// PTQ calibration rules (a step size from observed values).
enum class Calibration { MinMax, Percentile, Mse };

/// What every quantizer reports (DESIGN.md "Quantizer"): copied out as plain values.
struct QuantizerState {
    int bits = 0;
    bool isSigned = true;
    std::vector<double> steps;
    double zeroPoint = 0.0;
    double lastError = 0.0;  ///< mean squared quantization error of the last observed forward
    double clipRate = 0.0;   ///< fraction of elements clipped in the last observed forward
};

/// Called on the calling thread after every LSQ initialisation from data, with the new step
/// sizes to adjust in place: data-parallel training averages them over its processes so every
/// process starts from the global batch's value. Empty (the default): nothing happens.
using InitializationHook = std::function<void(torch::Tensor& stepSize)>;
/// Installs `hook` for this thread until the returned guard's destruction.
class InitializationHookGuard {
public:
    explicit InitializationHookGuard(InitializationHook hook);
    ~InitializationHookGuard();
    InitializationHookGuard(const InitializationHookGuard&) = delete;
    InitializationHookGuard& operator=(const InitializationHookGuard&) = delete;

private:
    InitializationHook m_previous;
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

    /// Noise tempering: which noise, and the current lambda_t (0 = none). Training mode only.
    void setNoise(const NoiseOptions& noise) { m_noise = noise; }
    void setNoiseLambda(double lambda) { m_lambda = lambda; }
    double noiseLambda() const { return m_lambda; }
    /// The last noise drawn (xi), for tests; undefined before a noisy forward.
    const torch::Tensor& lastNoise() const { return m_lastXi; }
    /// kappa = exp(log_grad_scale), or undefined without a learnable multiplier.
    torch::Tensor gradScaleMultiplier() const;
    /// g = 1 / sqrt(N Qp) for a tensor of this shape (before kappa).
    double gradScaleFor(const torch::Tensor& x) const;

    /// PTQ: while calibrating, forward passes values through unquantized (applying the fused
    /// ReLU) and keeps what the rule needs; finishCalibration sets the step size from them.
    void beginCalibration(Calibration rule, double percentile, int64_t sampleBudget);
    void finishCalibration();
    bool isCalibrating() const { return m_calibrating; }
    /// Sets the step size from one tensor at once (weights).
    void calibrateFrom(const torch::Tensor& x, Calibration rule, double percentile);
    QuantizerState state() const;
    const QuantizerOptions& options() const { return m_options; }

    torch::Tensor step_size;
    torch::Tensor initialized;
    torch::Tensor log_grad_scale;  ///< only with learn_grad_scale

private:
    void observeForCalibration(const torch::Tensor& x);

    QuantizerOptions m_options;
    QuantRange m_range;
    bool m_observing = false;
    LsqStats m_lastStats;
    NoiseOptions m_noise;
    double m_lambda = 0.0;
    torch::Tensor m_lastXi;
    bool m_calibrating = false;
    Calibration m_rule = Calibration::MinMax;
    double m_percentile = 99.99;
    int64_t m_sampleBudget = 0;
    torch::Tensor m_maxAbs;                ///< running max |v| (per channel when per-channel)
    std::vector<torch::Tensor> m_samples;  ///< |v| samples (percentile, mse)
};

/// The step size a calibration rule gives for values v (per-channel: v is [C, n], one step per
/// row). minmax: max|v| / Qp; percentile: the p-th percentile of |v| / Qp; mse: the s that
/// minimises sum (Q(v; s) - v)^2, searched over 100 fractions of the min-max step and refined
/// between the best one's neighbours.
torch::Tensor calibrateSteps(const torch::Tensor& v, QuantRange range, Calibration rule,
                             double percentile);
TORCH_MODULE(Quantizer);

}  // namespace qs::quant
