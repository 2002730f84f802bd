#include "engine/quant/LsqFunction.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace qs::quant {

QuantRange QuantRange::of(int bits, bool isSigned) {
    // A signed 1-bit range would have Qp = 0, and g = 1/sqrt(N Qp) would be infinite.
    TORCH_CHECK(bits >= (isSigned ? 2 : 1) && bits <= 16, "LSQ: bit-width must be ",
                isSigned ? "2" : "1", "..16 for this range, got ", bits);
    if (isSigned) {
        return {std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1.0};
    }
    return {0.0, std::ldexp(1.0, bits) - 1.0};
}

namespace {

// Elements per reduction chunk. Fixed (not derived from the thread count) so that the order of
// the floating-point reduction, and so every result, is the same whatever the thread count.
constexpr int64_t kChunk = 8192;

// The kernels are cloned for AVX2 and a baseline: nearbyint and the compares vectorize only with
// SSE4.1+, and a portable binary must still run on older cores.
#define QS_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))

QS_VECTOR_CLONES
void forwardKernel(const float* v, float* out, int64_t n, float s, float qn, float qp) {
    for (int64_t i = 0; i < n; ++i) {
        const float x = std::min(std::max(v[i] / s, -qn), qp);
        out[i] = std::nearbyint(x) * s;
    }
}

/// Forward plus the quantization-error and clip statistics, in the same pass.
QS_VECTOR_CLONES
void forwardStatsKernel(const float* v, float* out, int64_t n, float s, float qn, float qp,
                        bool reluReference, double& sqErr, int64_t& clipped) {
    float err = 0.f;
    int64_t clip = 0;
    // With a fused ReLU, values below 0 are the ReLU's doing, not clipping; the reference is
    // what the float network would feed the layer.
    const float floor = reluReference ? 0.f : -std::numeric_limits<float>::infinity();
    const float low = reluReference ? -std::numeric_limits<float>::infinity() : -qn;
    for (int64_t i = 0; i < n; ++i) {
        const float x = v[i] / s;
        clip += (x < low) | (x > qp);
        const float q = std::nearbyint(std::min(std::max(x, -qn), qp)) * s;
        out[i] = q;
        const float d = q - std::max(v[i], floor);
        err += d * d;
    }
    sqErr += err;
    clipped += clip;
}

/// One pass: the input gradient (clipped straight-through) and the sum that forms the
/// step-size gradient (round(x) - x inside, -qn below, qp above), before the scale g.
QS_VECTOR_CLONES
double backwardKernel(const float* v, const float* go, float* gv, int64_t n, float s, float qn,
                      float qp) {
    float acc = 0.f;
    for (int64_t i = 0; i < n; ++i) {
        const float x = v[i] / s;
        // Inclusive bounds, as torch's clamp backward: the two agree exactly on the boundary.
        const bool below = x < -qn;
        const bool above = x > qp;
        const bool inside = !(below | above);
        const float ds = inside ? std::nearbyint(x) - x : (below ? -qn : qp);
        gv[i] = inside ? go[i] : 0.f;
        acc += go[i] * ds;
    }
    return acc;
}

/// Noise tempering's forward: LSQ value plus lambda * amplitude * xi, with the clean value's
/// statistics.
QS_VECTOR_CLONES
void noisyForwardKernel(const float* v, const float* xi, float* out, int64_t n, float s, float qn,
                        float qp, float lambda, bool halfStep, bool reluReference, double& sqErr,
                        int64_t& clipped) {
    float err = 0.f;
    int64_t clip = 0;
    const float floor = reluReference ? 0.f : -std::numeric_limits<float>::infinity();
    const float low = reluReference ? -std::numeric_limits<float>::infinity() : -qn;
    const float half = 0.5f * s;
    for (int64_t i = 0; i < n; ++i) {
        const float x = v[i] / s;
        clip += (x < low) | (x > qp);
        const float q = std::nearbyint(std::min(std::max(x, -qn), qp)) * s;
        const float e = q - std::max(v[i], floor);
        const float a = halfStep ? half : std::fabs(e);
        out[i] = q + lambda * a * xi[i];
        err += e * e;
    }
    sqErr += err;
    clipped += clip;
}

/// Noise tempering's backward: the straight-through input gradient and the step-size sum. Two
/// loops, one per amplitude, so each vectorises.
QS_VECTOR_CLONES
double noisyBackwardKernel(const float* v, const float* xi, const float* go, float* gv, int64_t n,
                           float s, float qn, float qp, float lambda, bool halfStep,
                           bool reluReference) {
    float acc = 0.f;
    const float floor = reluReference ? 0.f : -std::numeric_limits<float>::infinity();
    if (halfStep) {
        for (int64_t i = 0; i < n; ++i) {
            const float x = v[i] / s;
            const bool below = x < -qn;
            const bool above = x > qp;
            const bool inside = !(below | above);
            const float dq = inside ? std::nearbyint(x) - x : (below ? -qn : qp);
            gv[i] = inside ? go[i] : 0.f;
            acc += go[i] * (dq + 0.5f * lambda * xi[i]);
        }
        return acc;
    }
    for (int64_t i = 0; i < n; ++i) {
        const float x = v[i] / s;
        const bool below = x < -qn;
        const bool above = x > qp;
        const bool inside = !(below | above);
        const float r = std::nearbyint(std::min(std::max(x, -qn), qp));
        const float dq = inside ? r - x : (below ? -qn : qp);
        gv[i] = inside ? go[i] : 0.f;
        const float e = r * s - std::max(v[i], floor);
        const float sign = e > 0.f ? 1.f : (e < 0.f ? -1.f : 0.f);
        acc += go[i] * dq * (1.f + lambda * xi[i] * sign);
    }
    return acc;
}

/// MurmurHash3's 32-bit finaliser over a counter: a good mix in 32-bit multiplies, which
/// vectorise (a 64-bit mix would not, on AVX2).
inline uint32_t mix32(uint32_t h) {
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

QS_VECTOR_CLONES
void uniformNoiseKernel(float* p, int64_t begin, int64_t end, uint32_t key) {
    for (int64_t i = begin; i < end; ++i) {
        const uint32_t h = mix32(uint32_t(i) * 0x9E3779B9u + key);
        p[i] = float(h >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

/// Work items per task: below ~64k elements a parallel region costs more than it saves (its
/// barrier spins on the other core), so small tensors (most weights) run inline.
int64_t grainFor(int64_t itemSize) {
    constexpr int64_t kMinParallelElements = 65536;
    return std::max<int64_t>(1, kMinParallelElements / std::max<int64_t>(1, itemSize));
}

/// How a tensor is cut into work items: fixed chunks sharing one tensor-wide step size, or whole
/// channels, each with its own step.
struct WorkItems {
    int64_t n = 0;
    int64_t channels = 1;
    int64_t inner = 0;  ///< elements per item
    int64_t count = 0;

    WorkItems(int64_t elements, int64_t stepCount) : n(elements), channels(stepCount) {
        inner = channels == 1 ? kChunk : (n == 0 ? 0 : n / channels);
        count = channels == 1 ? (n + kChunk - 1) / kChunk : channels;
    }
    /// Runs body(item, begin, length, stepIndex) over every item, in parallel.
    template <class Body>
    void forEach(const Body& body) const {
        at::parallel_for(0, count, grainFor(inner), [&](int64_t b, int64_t e) {
            for (int64_t c = b; c < e; ++c) {
                const int64_t begin = c * inner;
                body(c, begin, std::min(inner, n - begin), channels == 1 ? 0 : c);
            }
        });
    }
};

/// The checks every fused quantizer makes of its input and step size.
void checkInputs(const torch::Tensor& v, const torch::Tensor& s) {
    TORCH_CHECK(v.scalar_type() == torch::kFloat && s.scalar_type() == torch::kFloat,
                "LSQ: float32 tensors expected");
    TORCH_CHECK(v.device().is_cpu(), "LSQ: the fused kernel runs on CPU tensors");
    TORCH_CHECK(s.numel() == 1 || (v.dim() >= 1 && v.size(0) == s.numel()),
                "LSQ: step size must have 1 element or one per channel (dim 0); got ", s.numel(),
                " for a tensor of shape ", v.sizes());
}

/// Per-item statistics summed in item order (the same whatever the thread count).
void storeStats(LsqStats* stats, bool reluReference, const std::vector<double>& err,
                const std::vector<int64_t>& clip, int64_t n) {
    *stats = LsqStats{};
    stats->reluReference = reluReference;
    for (std::size_t c = 0; c < err.size(); ++c) {
        stats->sumSquaredError += err[c];
        stats->clipped += clip[c];
    }
    stats->count = n;
}

/// The step-size gradient from per-item sums: one total for a tensor-wide step (summed in item
/// order), one per channel otherwise; times g.
torch::Tensor stepGradient(const std::vector<double>& partial, const torch::Tensor& s, double g) {
    torch::Tensor gs = torch::empty_like(s);
    float* pgs = gs.data_ptr<float>();
    if (s.numel() == 1) {
        double total = 0.0;
        for (double p : partial) {
            total += p;
        }
        pgs[0] = float(total * g);
    } else {
        for (int64_t c = 0; c < s.numel(); ++c) {
            pgs[c] = float(partial[c] * g);
        }
    }
    return gs;
}

}  // namespace

torch::Tensor LsqFunction::forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                                   const torch::Tensor& s, double qn, double qp, double gradScale,
                                   LsqStats* stats) {
    checkInputs(v, s);
    const torch::Tensor vc = v.contiguous();
    const torch::Tensor sc = s.detach().contiguous();
    torch::Tensor out = torch::empty_like(vc);
    const float* pv = vc.data_ptr<float>();
    const float* ps = sc.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const float fqn = float(qn), fqp = float(qp);
    const WorkItems items(vc.numel(), sc.numel());
    if (stats == nullptr) {
        items.forEach([&](int64_t, int64_t begin, int64_t len, int64_t k) {
            forwardKernel(pv + begin, po + begin, len, ps[k], fqn, fqp);
        });
    } else {
        const bool reluReference = stats->reluReference;
        std::vector<double> err(std::size_t(items.count), 0.0);
        std::vector<int64_t> clip(std::size_t(items.count), 0);
        items.forEach([&](int64_t c, int64_t begin, int64_t len, int64_t k) {
            forwardStatsKernel(pv + begin, po + begin, len, ps[k], fqn, fqp, reluReference, err[c],
                               clip[c]);
        });
        storeStats(stats, reluReference, err, clip, items.n);
    }
    ctx->save_for_backward({vc, sc});
    ctx->saved_data["qn"] = qn;
    ctx->saved_data["qp"] = qp;
    ctx->saved_data["g"] = gradScale;
    return out.view(v.sizes());
}

torch::autograd::variable_list LsqFunction::backward(torch::autograd::AutogradContext* ctx,
                                                     torch::autograd::variable_list gradOutputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& v = saved[0];
    const torch::Tensor& s = saved[1];
    const float qn = float(ctx->saved_data["qn"].toDouble());
    const float qp = float(ctx->saved_data["qp"].toDouble());
    const double g = ctx->saved_data["g"].toDouble();
    const torch::Tensor go = gradOutputs[0].contiguous();
    torch::Tensor gv = torch::empty_like(v);
    const float* pv = v.data_ptr<float>();
    const float* pgo = go.data_ptr<float>();
    const float* ps = s.data_ptr<float>();
    float* pgv = gv.data_ptr<float>();
    const WorkItems items(v.numel(), s.numel());
    std::vector<double> partial(std::size_t(items.count), 0.0);
    items.forEach([&](int64_t c, int64_t begin, int64_t len, int64_t k) {
        partial[c] = backwardKernel(pv + begin, pgo + begin, pgv + begin, len, ps[k], qn, qp);
    });
    torch::Tensor inputGrad = gv.view(gradOutputs[0].sizes());
    if (torch::GradMode::is_enabled() && gradOutputs[0].requires_grad()) {
        // create_graph (Hessian-vector products): the input gradient must stay a function of the
        // incoming one, go times the in-range mask, which the kernel yields for go = 1.
        const torch::Tensor ones = torch::ones_like(v);
        torch::Tensor mask = torch::empty_like(v);
        const float* pones = ones.data_ptr<float>();
        float* pmask = mask.data_ptr<float>();
        items.forEach([&](int64_t, int64_t begin, int64_t len, int64_t k) {
            backwardKernel(pv + begin, pones + begin, pmask + begin, len, ps[k], qn, qp);
        });
        inputGrad = gradOutputs[0] * mask.view(gradOutputs[0].sizes());
    }
    return {inputGrad,       stepGradient(partial, s, g),
            torch::Tensor(), torch::Tensor(),
            torch::Tensor(), torch::Tensor()};
}

void fillNoise(torch::Tensor& out, uint64_t key, bool normal) {
    TORCH_CHECK(out.scalar_type() == torch::kFloat && out.is_contiguous() && out.device().is_cpu(),
                "fillNoise: a contiguous float32 CPU tensor expected");
    TORCH_CHECK(out.numel() < (int64_t(1) << 32), "fillNoise: at most 2^32 elements");
    float* p = out.data_ptr<float>();
    const uint32_t k1 = uint32_t(key), k2 = uint32_t(key >> 32);
    WorkItems(out.numel(), 1).forEach([&](int64_t, int64_t begin, int64_t len, int64_t) {
        uniformNoiseKernel(p, begin, begin + len, k1);
        if (!normal) {
            return;
        }
        // Box-Muller: the uniform draw gives the angle, a second stream the radius.
        constexpr float kPi = 3.14159265358979323846f;
        for (int64_t i = begin; i < begin + len; ++i) {
            const uint32_t h = mix32(uint32_t(i) * 0x9E3779B9u + k2);
            const float u = 1.0f - float(h >> 8) * (1.0f / 16777216.0f);  // (0, 1]
            p[i] = std::sqrt(-2.0f * std::log(u)) * std::cos(kPi * p[i]);
        }
    });
}

torch::Tensor NoisyLsqFunction::forward(torch::autograd::AutogradContext* ctx,
                                        const torch::Tensor& v, const torch::Tensor& s,
                                        const torch::Tensor& xi, double qn, double qp,
                                        double gradScale, double lambda, bool halfStep,
                                        bool reluReference, LsqStats* stats) {
    checkInputs(v, s);
    TORCH_CHECK(xi.scalar_type() == torch::kFloat && xi.sizes() == v.sizes(),
                "LSQ noise: the draw must be float32 with the input's shape");
    const torch::Tensor vc = v.contiguous();
    const torch::Tensor sc = s.detach().contiguous();
    const torch::Tensor xc = xi.detach().contiguous();
    torch::Tensor out = torch::empty_like(vc);
    const float* pv = vc.data_ptr<float>();
    const float* px = xc.data_ptr<float>();
    const float* ps = sc.data_ptr<float>();
    float* po = out.data_ptr<float>();
    const WorkItems items(vc.numel(), sc.numel());
    std::vector<double> err(std::size_t(items.count), 0.0);
    std::vector<int64_t> clip(std::size_t(items.count), 0);
    items.forEach([&](int64_t c, int64_t begin, int64_t len, int64_t k) {
        noisyForwardKernel(pv + begin, px + begin, po + begin, len, ps[k], float(qn), float(qp),
                           float(lambda), halfStep, reluReference, err[c], clip[c]);
    });
    if (stats) {
        storeStats(stats, reluReference, err, clip, items.n);
    }
    ctx->save_for_backward({vc, sc, xc});
    ctx->saved_data["qn"] = qn;
    ctx->saved_data["qp"] = qp;
    ctx->saved_data["g"] = gradScale;
    ctx->saved_data["lambda"] = lambda;
    ctx->saved_data["half"] = halfStep;
    ctx->saved_data["relu"] = reluReference;
    return out.view(v.sizes());
}

torch::autograd::variable_list NoisyLsqFunction::backward(
    torch::autograd::AutogradContext* ctx, torch::autograd::variable_list gradOutputs) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& v = saved[0];
    const torch::Tensor& s = saved[1];
    const torch::Tensor& xi = saved[2];
    const float qn = float(ctx->saved_data["qn"].toDouble());
    const float qp = float(ctx->saved_data["qp"].toDouble());
    const double g = ctx->saved_data["g"].toDouble();
    const float lambda = float(ctx->saved_data["lambda"].toDouble());
    const bool halfStep = ctx->saved_data["half"].toBool();
    const bool relu = ctx->saved_data["relu"].toBool();
    const torch::Tensor go = gradOutputs[0].contiguous();
    torch::Tensor gv = torch::empty_like(v);
    const float* pv = v.data_ptr<float>();
    const float* px = xi.data_ptr<float>();
    const float* pgo = go.data_ptr<float>();
    const float* ps = s.data_ptr<float>();
    float* pgv = gv.data_ptr<float>();
    const WorkItems items(v.numel(), s.numel());
    std::vector<double> partial(std::size_t(items.count), 0.0);
    items.forEach([&](int64_t c, int64_t begin, int64_t len, int64_t k) {
        partial[c] = noisyBackwardKernel(pv + begin, px + begin, pgo + begin, pgv + begin, len,
                                         ps[k], qn, qp, lambda, halfStep, relu);
    });
    return {gv.view(gradOutputs[0].sizes()),
            stepGradient(partial, s, g),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor(),
            torch::Tensor()};
}

torch::Tensor noisyLsqQuantize(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                               double gradScale, const LsqNoise& noise, LsqStats* stats) {
    return NoisyLsqFunction::apply(v, s, noise.xi, range.qn, range.qp, gradScale, noise.lambda,
                                   noise.halfStep, noise.reluReference, stats);
}

torch::Tensor lsqQuantize(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                          double gradScale, LsqStats* stats) {
    return LsqFunction::apply(v, s, range.qn, range.qp, gradScale, stats);
}

torch::Tensor lsqQuantizeComposite(const torch::Tensor& v, const torch::Tensor& s, QuantRange range,
                                   double gradScale) {
    // Step size with its gradient scaled by g but its value unchanged.
    torch::Tensor sScaled = (s - s * gradScale).detach() + s * gradScale;
    if (s.numel() > 1) {
        std::vector<int64_t> shape(std::size_t(v.dim()), 1);
        shape[0] = s.numel();
        sScaled = sScaled.view(shape);
    }
    torch::Tensor x = torch::clamp(v / sScaled, -range.qn, range.qp);
    x = (x.round() - x).detach() + x;  // round with a straight-through gradient
    return x * sScaled;
}

}  // namespace qs::quant
