#include "engine/quant/Quantizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::quant {

QuantizerImpl::QuantizerImpl(QuantizerOptions options)
    : m_options(std::move(options)),
      m_range(QuantRange::of(m_options.bits(), m_options.is_signed())) {
    reset();
}

void QuantizerImpl::reset() {
    m_range = QuantRange::of(m_options.bits(), m_options.is_signed());
    const int64_t n = m_options.channels() > 0 ? m_options.channels() : 1;
    step_size = register_parameter("step_size", torch::ones({n}));
    initialized = register_buffer("initialized", torch::zeros({1}));
    if (m_options.learn_grad_scale()) {
        log_grad_scale = register_parameter("log_grad_scale", torch::zeros({1}));
    }
}

torch::Tensor QuantizerImpl::gradScaleMultiplier() const {
    return log_grad_scale.defined() ? log_grad_scale.exp() : torch::Tensor();
}

double QuantizerImpl::gradScaleFor(const torch::Tensor& x) const {
    double n = 0.0;
    if (m_options.channels() > 0) {
        n = double(x.numel() / std::max<int64_t>(1, x.size(0)));
    } else if (m_options.grad_scale() == GradScaleMode::PerSample && x.dim() > 1) {
        n = double(x.numel() / std::max<int64_t>(1, x.size(0)));
    } else {
        n = double(x.numel());
    }
    return 1.0 / std::sqrt(std::max(1.0, n) * m_range.qp);
}

namespace {

/// Rows of values as a calibration rule sees them: [C, n] per channel, else [1, n].
torch::Tensor calibrationRows(const torch::Tensor& x, bool perChannel, bool relu) {
    torch::Tensor v = x.detach().to(torch::kFloat);
    if (relu) {
        v = v.clamp_min(0);
    }
    return perChannel ? v.reshape({x.size(0), -1}) : v.reshape({1, -1});
}

/// Sum of squared quantization errors per row for step sizes s ([R, 1]).
torch::Tensor rowErrors(const torch::Tensor& v, const torch::Tensor& s, QuantRange range) {
    return ((v / s).round().clamp(-range.qn, range.qp) * s - v).pow(2).sum(1);
}

}  // namespace

torch::Tensor calibrateSteps(const torch::Tensor& values, QuantRange range, Calibration rule,
                             double percentile) {
    torch::NoGradGuard noGrad;
    const torch::Tensor v = values.dim() == 2 ? values : values.reshape({1, -1});
    const torch::Tensor a = v.abs();
    // The smallest step that clips nothing on the positive side; also the search scale.
    const torch::Tensor minMax = (a.amax(1) / range.qp).clamp_min(1e-8);
    if (rule == Calibration::MinMax) {
        return minMax;
    }
    if (rule == Calibration::Percentile) {
        const int64_t n = a.size(1);
        const int64_t k =
            std::clamp<int64_t>(int64_t(std::ceil(percentile / 100.0 * double(n))) - 1, 0, n - 1);
        const torch::Tensor sorted = std::get<0>(a.sort(1));
        return (sorted.select(1, k) / range.qp).clamp_min(1e-8);
    }
    // MSE: a grid of 100 fractions of the min-max step, then 20 points between the best one's
    // neighbours.
    constexpr int kCoarse = 100, kFine = 20;
    const int64_t rows = v.size(0);
    torch::Tensor bestErr = torch::full({rows}, std::numeric_limits<double>::infinity(),
                                        v.options().dtype(torch::kDouble));
    torch::Tensor bestFrac = torch::ones({rows}, bestErr.options());
    auto tryFraction = [&](const torch::Tensor& frac) {
        const torch::Tensor s = (minMax.to(torch::kDouble) * frac).clamp_min(1e-12);
        const torch::Tensor err = rowErrors(v.to(torch::kDouble), s.unsqueeze(1), range);
        const torch::Tensor better = err < bestErr;
        bestErr = torch::where(better, err, bestErr);
        bestFrac = torch::where(better, frac, bestFrac);
    };
    for (int k = 1; k <= kCoarse; ++k) {
        tryFraction(torch::full({rows}, double(k) / kCoarse, bestErr.options()));
    }
    const torch::Tensor center = bestFrac.clone();
    for (int k = -kFine; k <= kFine; ++k) {
        tryFraction((center + double(k) / (kFine * kCoarse)).clamp_min(1e-6));
    }
    return (minMax.to(torch::kDouble) * bestFrac).to(values.scalar_type()).clamp_min(1e-8);
}

void QuantizerImpl::calibrateFrom(const torch::Tensor& x, Calibration rule, double percentile) {
    torch::NoGradGuard noGrad;
    const torch::Tensor rows = calibrationRows(x, m_options.channels() > 0, m_options.relu_input());
    step_size.copy_(calibrateSteps(rows, m_range, rule, percentile).reshape(step_size.sizes()));
    initialized.fill_(1.f);
}

void QuantizerImpl::beginCalibration(Calibration rule, double percentile, int64_t sampleBudget) {
    m_calibrating = true;
    m_rule = rule;
    m_percentile = percentile;
    m_sampleBudget = std::max<int64_t>(1, sampleBudget);
    m_maxAbs = torch::Tensor();
    m_samples.clear();
}

void QuantizerImpl::observeForCalibration(const torch::Tensor& x) {
    torch::NoGradGuard noGrad;
    const torch::Tensor rows = calibrationRows(x, m_options.channels() > 0, m_options.relu_input());
    const torch::Tensor maxAbs = rows.abs().amax(1);
    m_maxAbs = m_maxAbs.defined() ? torch::maximum(m_maxAbs, maxAbs) : maxAbs;
    if (m_rule != Calibration::MinMax) {
        // A strided subsample keeps memory bounded and needs no random numbers.
        const int64_t n = rows.size(1);
        const int64_t stride = std::max<int64_t>(1, (n + m_sampleBudget - 1) / m_sampleBudget);
        m_samples.push_back(rows.slice(1, 0, n, stride).clone());
    }
}

void QuantizerImpl::finishCalibration() {
    if (!m_calibrating) {
        return;
    }
    m_calibrating = false;
    torch::NoGradGuard noGrad;
    if (!m_maxAbs.defined()) {
        return;  // never saw data: stays uninitialised (LSQ initialises it from its first input)
    }
    torch::Tensor steps;
    if (m_rule == Calibration::MinMax) {
        steps = (m_maxAbs / m_range.qp).clamp_min(1e-8);
    } else {
        steps = calibrateSteps(torch::cat(m_samples, 1), m_range, m_rule, m_percentile);
    }
    step_size.copy_(steps.reshape(step_size.sizes()));
    initialized.fill_(1.f);
    m_samples.clear();
    m_maxAbs = torch::Tensor();
}

bool QuantizerImpl::isInitialized() const {
    return initialized.item<float>() != 0.f;
}

namespace {
thread_local InitializationHook t_initializationHook;
}  // namespace

InitializationHookGuard::InitializationHookGuard(InitializationHook hook)
    : m_previous(std::move(t_initializationHook)) {
    t_initializationHook = std::move(hook);
}

InitializationHookGuard::~InitializationHookGuard() {
    t_initializationHook = std::move(m_previous);
}

void QuantizerImpl::initializeFrom(const torch::Tensor& x) {
    torch::NoGradGuard noGrad;
    const double denom = std::sqrt(m_range.qp);
    torch::Tensor meanAbs;
    if (m_options.channels() > 0) {
        meanAbs = x.detach().abs().reshape({x.size(0), -1}).mean(1);
    } else if (m_options.relu_input()) {
        meanAbs = x.detach().clamp_min(0).mean().reshape({1});
    } else {
        meanAbs = x.detach().abs().mean().reshape({1});
    }
    // A tensor of zeros (dead channel) would give s = 0 and a division by zero: keep s > 0.
    torch::Tensor steps = (2.0 * meanAbs / denom).clamp_min(1e-8);
    if (t_initializationHook) {
        t_initializationHook(steps);
    }
    step_size.copy_(steps.reshape(step_size.sizes()));
    initialized.fill_(1.f);
}

torch::Tensor QuantizerImpl::forward(const torch::Tensor& x) {
    if (m_calibrating) {
        observeForCalibration(x);
        return m_options.relu_input() ? torch::relu(x) : x;
    }
    if (!isInitialized()) {
        initializeFrom(x);
    }
    double g = gradScaleFor(x);
    torch::Tensor s = step_size;
    if (log_grad_scale.defined()) {
        // Forward value s; gradient g kappa to s and g s (times the upstream) to kappa.
        const torch::Tensor scaled = step_size * (log_grad_scale.exp() * g);
        s = step_size.detach() + (scaled - scaled.detach());
        g = 1.0;
    }
    const bool noisy = m_noise.enabled && m_lambda > 0.0 && is_training();
    LsqStats stats;
    stats.reluReference = m_options.relu_input();
    LsqStats* statsOut = m_observing ? &stats : nullptr;
    torch::Tensor out;
    if (noisy) {
        LsqNoise noise;
        // One draw from torch's generator keys a counter-based fill: seeded like everything
        // else (torch::manual_seed), but parallel and far cheaper than torch's serial uniform_.
        noise.xi = torch::empty(x.sizes(), x.options().memory_format(at::MemoryFormat::Contiguous));
        const uint64_t key = uint64_t(torch::randint(std::numeric_limits<int64_t>::max(), {1},
                                                     torch::TensorOptions().dtype(torch::kLong))
                                          .item<int64_t>());
        fillNoise(noise.xi, key, m_noise.normal);
        noise.lambda = m_lambda;
        noise.halfStep = m_noise.halfStep;
        noise.reluReference = m_options.relu_input();
        m_lastXi = noise.xi;
        out = noisyLsqQuantize(x, s, m_range, g, noise, statsOut);
    } else {
        out = lsqQuantize(x, s, m_range, g, statsOut);
    }
    if (m_observing) {
        m_lastStats = stats;
    }
    return out;
}

QuantizerState QuantizerImpl::state() const {
    QuantizerState st;
    st.bits = m_options.bits();
    st.isSigned = m_options.is_signed();
    const torch::Tensor s = step_size.detach().to(torch::kDouble).contiguous();
    st.steps.assign(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
    if (m_lastStats.count > 0) {
        st.lastError = m_lastStats.sumSquaredError / double(m_lastStats.count);
        st.clipRate = double(m_lastStats.clipped) / double(m_lastStats.count);
    }
    return st;
}

}  // namespace qs::quant
