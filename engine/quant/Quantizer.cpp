#include "engine/quant/Quantizer.h"

#include <torch/torch.h>

#include <cmath>

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
}

bool QuantizerImpl::isInitialized() const {
    return initialized.item<float>() != 0.f;
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
    step_size.copy_((2.0 * meanAbs / denom).clamp_min(1e-8));
    initialized.fill_(1.f);
}

torch::Tensor QuantizerImpl::forward(const torch::Tensor& x) {
    if (!isInitialized()) {
        initializeFrom(x);
    }
    double n = 0.0;
    if (m_options.channels() > 0) {
        n = double(x.numel() / std::max<int64_t>(1, x.size(0)));
    } else if (m_options.grad_scale() == GradScaleMode::PerSample && x.dim() > 1) {
        n = double(x.numel() / std::max<int64_t>(1, x.size(0)));
    } else {
        n = double(x.numel());
    }
    const double g = 1.0 / std::sqrt(std::max(1.0, n) * m_range.qp);
    if (!m_observing) {
        return lsqQuantize(x, step_size, m_range, g);
    }
    LsqStats stats;
    stats.reluReference = m_options.relu_input();
    torch::Tensor out = lsqQuantize(x, step_size, m_range, g, &stats);
    m_lastStats = stats;
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
