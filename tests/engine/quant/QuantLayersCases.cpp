// Torch side of test_quant_layers (no Qt here).
#include "QuantLayersCases.h"

#include "engine/quant/LsqFunction.h"
#include "engine/quant/QuantLayers.h"

#include <torch/torch.h>

namespace qs::test::qlayers {

namespace {

constexpr int64_t kBatch = 2, kIn = 3, kOut = 5, kSize = 6, kStride = 2, kPadding = 1;

std::vector<float> valuesOf(const torch::Tensor& t) {
    const torch::Tensor c = t.detach().to(torch::kFloat).contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

quant::LayerQuantConfig toConfig(const SlotConfig& c) {
    quant::LayerQuantConfig q;
    q.weightBits = c.weightBits;
    q.actBits = c.actBits;
    q.perChannel = c.perChannel;
    return q;
}

/// Either layer behind one interface, with the float op it wraps.
struct AnyLayer {
    quant::QConv2d conv{nullptr};
    quant::QLinear linear{nullptr};

    AnyLayer(LayerKind kind, bool inputSigned) {
        if (kind == LayerKind::Conv) {
            conv = quant::QConv2d(quant::QConv2dOptions(kIn, kOut, 3)
                                      .stride(kStride)
                                      .padding(kPadding)
                                      .bias(true)
                                      .input_signed(inputSigned));
            // A non-zero bias, so a dropped bias would show.
            torch::NoGradGuard noGrad;
            conv->bias.uniform_(-0.5, 0.5);
        } else {
            linear =
                quant::QLinear(quant::QLinearOptions(kIn * kSize, kOut).input_signed(inputSigned));
        }
    }
    quant::QuantLayer& layer() {
        return conv ? static_cast<quant::QuantLayer&>(*conv)
                    : static_cast<quant::QuantLayer&>(*linear);
    }
    torch::nn::Module& module() {
        return conv ? static_cast<torch::nn::Module&>(*conv)
                    : static_cast<torch::nn::Module&>(*linear);
    }
    torch::Tensor weight() const { return conv ? conv->weight : linear->weight; }
    torch::Tensor bias() const { return conv ? conv->bias : linear->bias; }
    torch::Tensor input() const {
        return conv ? torch::randn({kBatch, kIn, kSize, kSize})
                    : torch::randn({kBatch, kIn * kSize});
    }
    torch::Tensor forward(const torch::Tensor& x) {
        return conv ? conv->forward(x) : linear->forward(x);
    }
    torch::Tensor op(const torch::Tensor& x, const torch::Tensor& w) const {
        return conv ? torch::conv2d(x, w, bias(), kStride, kPadding) : torch::linear(x, w, bias());
    }
};

}  // namespace

LayerRun runLayer(LayerKind kind, const SlotConfig& config, bool inputSigned) {
    torch::manual_seed(7);
    AnyLayer l(kind, inputSigned);
    l.layer().configureQuantizers(toConfig(config));
    const torch::Tensor x = l.input();

    LayerRun r;
    const torch::Tensor out = l.forward(x);
    r.shape = out.sizes().vec();
    r.layer = valuesOf(out);

    torch::NoGradGuard noGrad;
    torch::Tensor xq = x, wq = l.weight();
    if (quant::Quantizer q = l.layer().inputQuantizer()) {
        r.hasInputQuantizer = true;
        r.inputSigned = q->options().is_signed();
        r.inputBits = q->options().bits();
        xq = quant::lsqQuantizeComposite(
            x, q->step_size, quant::QuantRange::of(q->options().bits(), q->options().is_signed()),
            1.0);
    }
    if (quant::Quantizer q = l.layer().weightQuantizer()) {
        r.hasWeightQuantizer = true;
        r.weightSteps = q->step_size.numel();
        r.weightSigned = q->options().is_signed();
        r.weightBits = q->options().bits();
        wq = quant::lsqQuantizeComposite(
            l.weight(), q->step_size,
            quant::QuantRange::of(q->options().bits(), q->options().is_signed()), 1.0);
    }
    r.reference = valuesOf(l.op(xq, wq));
    r.floatOp = valuesOf(l.op(x, l.weight()));
    return r;
}

std::vector<Names> namesAfter(LayerKind kind, const std::vector<SlotConfig>& configs) {
    torch::manual_seed(7);
    AnyLayer l(kind, false);
    std::vector<Names> out;
    for (const SlotConfig& c : configs) {
        l.layer().configureQuantizers(toConfig(c));
        Names n;
        for (const auto& item : l.module().named_parameters()) {
            n.parameters.push_back(item.key());
        }
        for (const auto& item : l.module().named_buffers()) {
            n.buffers.push_back(item.key());
        }
        out.push_back(std::move(n));
    }
    return out;
}

PairRun floatAfterRemoval(LayerKind kind, const SlotConfig& first) {
    torch::manual_seed(7);
    AnyLayer l(kind, false);
    const torch::Tensor x = l.input();
    l.layer().configureQuantizers(toConfig(first));
    torch::NoGradGuard noGrad;
    l.forward(x);
    l.layer().configureQuantizers(quant::LayerQuantConfig{});
    PairRun r;
    r.layer = valuesOf(l.forward(x));
    r.floatOp = valuesOf(l.op(x, l.weight()));
    return r;
}

}  // namespace qs::test::qlayers

namespace qs::test::qlayers {

FusedReluRun runFusedRelu(int actBits) {
    torch::manual_seed(3);
    quant::QConv2d fused(quant::QConv2dOptions(4, 6, 3).padding(1).input_relu(true));
    quant::QConv2d plain(quant::QConv2dOptions(4, 6, 3).padding(1));
    {
        torch::NoGradGuard noGrad;
        plain->weight.copy_(fused->weight);
    }
    quant::LayerQuantConfig config;
    config.weightBits = 4;
    config.actBits = actBits;
    fused->configureQuantizers(config);
    plain->configureQuantizers(config);
    const torch::Tensor x = torch::randn({2, 4, 5, 5});
    torch::Tensor xf = x.clone().requires_grad_(true);
    torch::Tensor xp = x.clone().requires_grad_(true);
    const torch::Tensor upstream = torch::randn({2, 6, 5, 5});
    const torch::Tensor of = fused->forward(xf);
    const torch::Tensor op = plain->forward(torch::relu(xp));
    (of * upstream).sum().backward();
    (op * upstream).sum().backward();
    FusedReluRun r;
    r.fusedOut = valuesOf(of);
    r.plainOut = valuesOf(op);
    r.fusedInputGrad = valuesOf(xf.grad());
    r.plainInputGrad = valuesOf(xp.grad());
    if (actBits > 0) {
        r.fusedStepGrad = valuesOf(fused->inputQuantizer()->step_size.grad());
        r.plainStepGrad = valuesOf(plain->inputQuantizer()->step_size.grad());
        r.fusedInitStep = fused->inputQuantizer()->step_size.item<double>();
        r.plainInitStep = plain->inputQuantizer()->step_size.item<double>();
    }
    return r;
}

}  // namespace qs::test::qlayers
