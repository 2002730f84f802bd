// Torch side of test_lsq (no Qt here: the two header families must not meet in one file).
#include "LsqCases.h"

#include "engine/quant/LsqFunction.h"
#include "engine/quant/Quantizer.h"
#include "engine/util/Threads.h"

#include <torch/torch.h>

#include <cmath>

namespace qs::test::lsq {

using quant::QuantRange;

namespace {

torch::Tensor tensorOf(const std::vector<float>& data, const std::vector<int64_t>& shape) {
    return torch::from_blob(const_cast<float*>(data.data()), {int64_t(data.size())}, torch::kFloat)
        .clone()
        .reshape(shape);
}

std::vector<float> valuesOf(const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

LsqRun run(const LsqInput& in, bool fused) {
    torch::Tensor v = tensorOf(in.v, in.shape).requires_grad_(true);
    torch::Tensor s = tensorOf(in.steps, {int64_t(in.steps.size())}).requires_grad_(true);
    const QuantRange range = QuantRange::of(in.bits, in.isSigned);
    torch::Tensor out = fused ? quant::lsqQuantize(v, s, range, in.gradScale)
                              : quant::lsqQuantizeComposite(v, s, range, in.gradScale);
    const torch::Tensor gradOut =
        in.gradOut.empty() ? torch::ones_like(out) : tensorOf(in.gradOut, in.shape);
    out.backward(gradOut);
    LsqRun r;
    r.values = valuesOf(out);
    r.inputGrad = valuesOf(v.grad());
    r.stepGrad = valuesOf(s.grad());
    r.stepGradShape = s.grad().sizes().vec();
    return r;
}

}  // namespace

LsqRun runFused(const LsqInput& in) {
    return run(in, true);
}

LsqRun runComposite(const LsqInput& in) {
    return run(in, false);
}

std::string errorOf(const LsqInput& in) {
    try {
        run(in, true);
    } catch (const c10::Error& e) {
        return e.what_without_backtrace();
    }
    return {};
}

Range rangeOf(int bits, bool isSigned) {
    const QuantRange r = QuantRange::of(bits, isSigned);
    return {r.qn, r.qp};
}

StatsRun runWithStats(const LsqInput& in) {
    torch::NoGradGuard noGrad;
    const torch::Tensor v = tensorOf(in.v, in.shape);
    const torch::Tensor s = tensorOf(in.steps, {int64_t(in.steps.size())});
    quant::LsqStats stats;
    stats.sumSquaredError = -1.0;  // must be overwritten, not accumulated into
    stats.clipped = -1;
    stats.reluReference = in.reluReference;
    const torch::Tensor out =
        quant::lsqQuantize(v, s, QuantRange::of(in.bits, in.isSigned), 1.0, &stats);
    StatsRun r;
    r.values = valuesOf(out);
    r.sumSquaredError = stats.sumSquaredError;
    r.clipped = stats.clipped;
    r.count = stats.count;
    return r;
}

ThreadRun stepGradAcrossThreads(int64_t numel, const std::vector<int>& threadCounts) {
    ThreadRun r;
    r.threadsBefore = at::get_num_threads();
    torch::manual_seed(20240611);
    // randn * 3 * s with s = 0.05 and 4 signed bits: a good share of the elements is clipped.
    const float step = 0.05f;
    const torch::Tensor v = torch::randn({numel}) * (3.0f * step);
    const torch::Tensor gradOut = torch::randn({numel});
    const QuantRange range = QuantRange::of(4, true);
    const double g = 1.0 / std::sqrt(double(numel) * range.qp);

    torch::Tensor firstValues, firstInputGrad;
    r.valuesIdentical = true;
    r.inputGradIdentical = true;
    for (int threads : threadCounts) {
        r.threadsUsed.push_back(engine::applyThreadCount(threads));
        torch::Tensor x = v.clone().requires_grad_(true);
        torch::Tensor s = torch::full({1}, step).requires_grad_(true);
        torch::Tensor out = quant::lsqQuantize(x, s, range, g);
        out.backward(gradOut);
        r.stepGrad.push_back(s.grad().item<float>());
        if (!firstValues.defined()) {
            firstValues = out.detach();
            firstInputGrad = x.grad();
        } else {
            r.valuesIdentical = r.valuesIdentical && torch::equal(firstValues, out.detach());
            r.inputGradIdentical = r.inputGradIdentical && torch::equal(firstInputGrad, x.grad());
        }
    }
    engine::applyThreadCount(r.threadsBefore);
    r.threadsRestored = at::get_num_threads();

    // The same sum in double: x = v/s in float as the kernel computes it, the rest in double.
    const torch::Tensor x = (v / step).to(torch::kDouble);
    const torch::Tensor ds =
        torch::where(x < -range.qn, torch::full_like(x, -range.qn),
                     torch::where(x > range.qp, torch::full_like(x, range.qp), x.round() - x));
    r.referenceStepGrad = (ds * gradOut.to(torch::kDouble)).sum().item<double>() * g;
    return r;
}

QuantizerRun runQuantizer(const std::vector<float>& v, const std::vector<int64_t>& shape,
                          const std::vector<float>& second, int bits, bool isSigned,
                          int64_t channels, bool observe) {
    quant::QuantizerOptions options(bits, isSigned);
    options.channels(channels);
    quant::Quantizer q(options);
    q->setObserving(observe);

    QuantizerRun r;
    for (const auto& item : q->named_buffers()) {
        r.hasInitializedBuffer = r.hasInitializedBuffer || item.key() == "initialized";
    }
    for (const auto& item : q->named_parameters()) {
        r.stepIsParameter = r.stepIsParameter || item.key() == "step_size";
    }
    r.initializedBefore = q->isInitialized();
    r.stepsBefore = valuesOf(q->step_size);
    r.stepShape = q->step_size.sizes().vec();

    const torch::Tensor x = tensorOf(v, shape);
    const torch::Tensor out = q->forward(x);
    out.sum().backward();
    r.values = valuesOf(out);
    r.stepGrad = valuesOf(q->step_size.grad());
    r.initializedAfter = q->isInitialized();
    r.initializedBuffer = q->initialized.item<float>();
    r.stepsAfterFirst = valuesOf(q->step_size);

    const QuantRange range = QuantRange::of(bits, isSigned);
    {
        const torch::Tensor s = q->step_size.detach().clone();
        r.expectedValues = valuesOf(quant::lsqQuantizeComposite(x, s, range, 1.0));
        torch::Tensor sg = s.clone().requires_grad_(true);
        quant::lsqQuantize(x, sg, range, 1.0).sum().backward();
        r.stepGradUnscaled = valuesOf(sg.grad());
    }

    const quant::QuantizerState st = q->state();
    r.stateBits = st.bits;
    r.stateSigned = st.isSigned;
    r.stateSteps = st.steps;
    r.stateZeroPoint = st.zeroPoint;
    r.stateError = st.lastError;
    r.stateClipRate = st.clipRate;

    {
        torch::NoGradGuard noGrad;
        q->forward(tensorOf(second, shape));
    }
    r.stepsAfterSecond = valuesOf(q->step_size);
    return r;
}

}  // namespace qs::test::lsq
