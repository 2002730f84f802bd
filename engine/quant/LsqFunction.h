// The LSQ quantizer (ALGORITHMS.md section 1) as one fused autograd function: the forward is
// one pass over the tensor, the backward one pass that yields both gradients. Internal header
// (torch); not part of the engine's public API.
#pragma once

#include <torch/autograd.h>
#include <torch/types.h>

namespace qs::quant {

/// Integer range of a b-bit code: signed [-2^(b-1), 2^(b-1)-1], unsigned [0, 2^b-1].
struct QuantRange {
    double qn = 0.0;  ///< magnitude of the lowest code (codes >= -qn)
    double qp = 0.0;  ///< highest code

    static QuantRange of(int bits, bool isSigned);
};

/// Statistics gathered in the forward pass at no extra pass over memory.
struct LsqStats {
    /// In: the input arrives before its ReLU and the unsigned range applies it (a fused
    /// ReLU): the error is measured against max(v, 0), and only values above Qp count as clipped.
    bool reluReference = false;
    double sumSquaredError = 0.0;  ///< sum (v_hat - v)^2
    int64_t clipped = 0;           ///< elements with v/s outside [-qn, qp]
    int64_t count = 0;
};

/// Forward/backward of LSQ for a float32 CPU tensor `v` and step size `s`:
///   per-tensor: s has one element; per-channel: s has v.size(0) elements (dim 0 = channel).
///   gradScale: g multiplying the step-size gradient (1/sqrt(N*Qp) in LSQ).
/// When `stats` is non-null the forward also fills it.
/// Example:
///   auto vhat = LsqFunction::apply(w, step, QuantRange::of(4, true), g, nullptr);
class LsqFunction : public torch::autograd::Function<LsqFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                 const torch::Tensor& s, double qn, double qp, double gradScale,
                                 LsqStats* stats);
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs);
};

/// Fills a float32 CPU tensor with noise from a counter-based generator: element i is a hash of
/// (key, i), so the fill runs in parallel and the same key gives the same values whatever the
/// thread count. Uniform on [-1, 1) or, with `normal`, N(0, 1) (Box-Muller).
void fillNoise(torch::Tensor& out, uint64_t key, bool normal);

/// Noise tempering's noise at one quantizer (ALGORITHMS.md section 4), fused into LSQ.
struct LsqNoise {
    torch::Tensor xi;       ///< the draw, shaped like v (U(-1, 1) or N(0, 1))
    double lambda = 0.0;    ///< lambda_t
    bool halfStep = false;  ///< amplitude s / 2 instead of |e|
    /// The reference of e is max(v, 0): the input arrives before its ReLU (see LsqStats).
    bool reluReference = false;
};

/// LSQ plus noise in one pass each way: forward q + lambda a xi with q the LSQ value, e = q - v
/// and a = |e| (or s / 2). Backward: the input gets LSQ's straight-through gradient; the step
/// size the exact derivative of the noisy value, g sum(dy dq/ds (1 + lambda xi sign(e))) for |e|
/// and g sum(dy (dq/ds + lambda xi / 2)) for s / 2. Stats (if given) describe q, not the noise.
class NoisyLsqFunction : public torch::autograd::Function<NoisyLsqFunction> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                 const torch::Tensor& s, const torch::Tensor& xi, double qn,
                                 double qp, double gradScale, double lambda, bool halfStep,
                                 bool reluReference, LsqStats* stats);
    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list gradOutputs);
};

torch::Tensor noisyLsqQuantize(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                               double gradScale, const LsqNoise& noise, LsqStats* stats = nullptr);

/// Convenience wrapper around LsqFunction::apply.
torch::Tensor lsqQuantize(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                          double gradScale, LsqStats* stats = nullptr);

/// LSQ written the usual way, as a chain of differentiable ops (grad-scale trick, clamp, round
/// with a detached residual). Reference for tests and benchmarks; not used in training.
torch::Tensor lsqQuantizeComposite(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                                   double gradScale);

}  // namespace qs::quant
