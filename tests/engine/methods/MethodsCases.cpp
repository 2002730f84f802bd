// Torch side of test_methods (no Qt here: the two header families must not meet in one file).
// These functions only drive the engine and record what it did; the expectations live in
// TestMethods.cpp, computed there from the inputs by hand formulas.
#include "MethodsCases.h"

#include "engine/analysis/SharpnessCore.h"
#include "engine/quant/LsqFunction.h"
#include "engine/quant/QuantLayers.h"
#include "engine/quant/Quantizer.h"
#include "engine/session/RunSpec.h"
#include "engine/train/Methods.h"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace qs::test::methods {

namespace {

torch::Tensor tensorOf(const Vec& data, const std::vector<int64_t>& shape,
                       torch::Dtype dtype = torch::kDouble) {
    torch::Tensor t = torch::tensor(data, torch::kDouble).to(dtype);
    return shape.empty() ? t : t.reshape(shape);
}

torch::Tensor matrixOf(const std::vector<Vec>& rows) {
    Vec flat;
    for (const auto& r : rows) {
        flat.insert(flat.end(), r.begin(), r.end());
    }
    return tensorOf(flat, {int64_t(rows.size()), int64_t(rows.size() ? rows[0].size() : 0)});
}

Vec valuesOf(const torch::Tensor& t) {
    if (!t.defined()) {
        return {};
    }
    const torch::Tensor c = t.detach().to(torch::kDouble).contiguous();
    return Vec(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

const char* phaseName(train::SquatStepper::Phase p) {
    switch (p) {
        case train::SquatStepper::Phase::Both:
            return "both";
        case train::SquatStepper::Phase::SamOnly:
            return "sam";
        case train::SquatStepper::Phase::StepsOnly:
            return "steps";
    }
    return "?";
}

quant::Calibration ruleOf(const std::string& rule) {
    if (rule == "minmax") {
        return quant::Calibration::MinMax;
    }
    if (rule == "percentile") {
        return quant::Calibration::Percentile;
    }
    if (rule == "mse") {
        return quant::Calibration::Mse;
    }
    throw std::invalid_argument("unknown calibration rule " + rule);
}

void zeroGrad(const torch::Tensor& t) {
    if (t.grad().defined()) {
        t.mutable_grad().zero_();
    }
}

}  // namespace

// ---- SAM / ASAM ----------------------------------------------------------------------------

std::vector<Vec> samPerturbationOf(const std::vector<TensorInput>& params, double rho,
                                   bool adaptive) {
    std::vector<torch::Tensor> tensors;
    for (const auto& p : params) {
        torch::Tensor t = tensorOf(p.values, p.shape).requires_grad_(true);
        if (p.hasGrad) {
            t.mutable_grad() = tensorOf(p.grad, p.shape);
        }
        tensors.push_back(t);
    }
    std::vector<Vec> out;
    for (const auto& e : train::samPerturbation(tensors, rho, adaptive)) {
        out.push_back(valuesOf(e));
    }
    return out;
}

// ---- SQuAT on a quadratic ------------------------------------------------------------------

std::vector<SquatStepSeen> runSquatOnQuadratic(const Quadratic& q, const SquatConfig& config) {
    const torch::Tensor a = matrixOf(q.a);
    const torch::Tensor b = tensorOf(q.b, {});
    torch::Tensor w = tensorOf(q.w, {}).requires_grad_(true);
    torch::Tensor s = torch::full({1}, q.s, torch::kDouble).requires_grad_(true);

    session::SquatSpec spec;
    spec.schedule = config.schedule;
    spec.k = config.k;
    spec.joint = config.joint;
    spec.rho = config.rho;
    train::ParamGroups groups;
    groups.weights = {w};
    groups.owners = {nullptr};
    groups.steps = {s};
    train::SquatStepper stepper(spec, groups, nullptr);
    torch::optim::SGD weightOpt(std::vector<torch::Tensor>{w},
                                torch::optim::SGDOptions(config.lrWeights));
    torch::optim::SGD stepOpt(std::vector<torch::Tensor>{s},
                              torch::optim::SGDOptions(config.lrSteps));

    std::vector<SquatStepSeen> seen;
    for (int step = 0; step < config.steps; ++step) {
        SquatStepSeen st;
        st.phase = phaseName(stepper.phaseOf(step));
        const torch::Tensor wBefore = w.detach().clone();
        st.wBefore = valuesOf(w);
        st.sBefore = s.item<double>();
        auto pass = [&](bool firstPass) {
            const torch::Tensor loss =
                0.5 * w.dot(a.mv(w)) + q.c * (s - q.s0).pow(2).sum() + w.dot(b) * s.sum();
            loss.backward();
            st.passes.push_back({firstPass, valuesOf(w), s.item<double>(), loss.item<double>()});
            return loss.item<double>();
        };
        const train::StepReport r = stepper.step(step, config.rho, pass, weightOpt, &stepOpt);
        st.wAfter = valuesOf(w);
        st.sAfter = s.item<double>();
        st.weightsBitwiseUnchanged = torch::equal(w.detach(), wBefore);
        st.loss = r.loss;
        st.perturbedLoss = r.perturbedLoss;
        st.gradNorm = r.gradNorm;
        st.perturbNorm = r.perturbNorm;
        st.stepGradNorm = r.stepGradNorm;
        st.perturbed = r.perturbed;
        seen.push_back(std::move(st));
    }
    return seen;
}

std::vector<std::string> phasesOf(const std::string& schedule, int k, bool joint, int count) {
    session::SquatSpec spec;
    spec.schedule = schedule;
    spec.k = k;
    spec.joint = joint;
    train::SquatStepper stepper(spec, train::ParamGroups{}, nullptr);
    std::vector<std::string> out;
    for (int i = 0; i < count; ++i) {
        out.push_back(phaseName(stepper.phaseOf(i)));
    }
    return out;
}

// ---- SQuAT and BatchNorm -------------------------------------------------------------------

BatchNormRun batchNormAroundSquat() {
    torch::manual_seed(7);
    torch::nn::Sequential model(torch::nn::Linear(3, 4), torch::nn::BatchNorm1d(4));
    auto cloneOf = [&] {
        return std::dynamic_pointer_cast<torch::nn::SequentialImpl>(model->clone());
    };
    auto one = cloneOf();
    auto two = cloneOf();
    const torch::Tensor x = torch::randn({8, 3}) * 2.0 + 0.5;
    const torch::Tensor r = torch::randn({8, 4});
    auto buffer = [](torch::nn::Module& m, const std::string& name) {
        return m.named_buffers()[name];
    };

    BatchNormRun run;
    run.meanBefore = valuesOf(buffer(*model, "1.running_mean"));
    const torch::Tensor w0 = model->parameters()[0].detach().clone();
    train::ParamGroups groups = train::splitParameters(*model, {});
    torch::optim::SGD opt(groups.weights, torch::optim::SGDOptions(0.1));
    train::SquatStepper stepper(session::SquatSpec{}, groups, model.get());
    auto pass = [&](bool firstPass) {
        if (!firstPass) {
            run.secondPassInTraining = model->is_training();
        }
        ++run.passes;
        const torch::Tensor loss = (model->forward(x) * r).sum();
        loss.backward();
        return loss.item<double>();
    };
    stepper.step(0, 0.5, pass, opt, nullptr);
    run.weightsChanged = !torch::equal(model->parameters()[0].detach(), w0);
    run.meanAfterSquat = valuesOf(buffer(*model, "1.running_mean"));
    run.varAfterSquat = valuesOf(buffer(*model, "1.running_var"));
    run.batchesAfterSquat = buffer(*model, "1.num_batches_tracked").item<int64_t>();

    torch::NoGradGuard noGrad;
    one->train();
    one->forward(x);
    run.meanAfterOne = valuesOf(buffer(*one, "1.running_mean"));
    run.varAfterOne = valuesOf(buffer(*one, "1.running_var"));
    run.batchesAfterOne = buffer(*one, "1.num_batches_tracked").item<int64_t>();
    two->train();
    two->forward(x);
    two->forward(x);
    run.meanAfterTwo = valuesOf(buffer(*two, "1.running_mean"));
    return run;
}

// ---- SQuAT's quantized site ----------------------------------------------------------------

QuantizedSiteRun quantizedSiteStep(double rho) {
    QuantizedSiteRun run;
    run.x = {1.0, 2.0, -1.0, 0.5, -1.0, 2.0, -2.0, 0.5, 1.0, 1.5, 1.0, 0.5};
    run.t = {0.3, -0.2, 1.0, 0.5, -0.5, 0.2, 0.8, -1.0};
    run.w = {0.3, -0.55, 0.9, -0.2, 0.05, 0.7};
    run.bias = {0.1, -0.1};
    run.step = 0.25;

    quant::QLinear layer(quant::QLinearOptions(3, 2));
    quant::LayerQuantConfig config;
    config.weightBits = 3;
    layer->configureQuantizers(config);
    torch::nn::Sequential model(layer);
    {
        torch::NoGradGuard noGrad;
        layer->weight.copy_(tensorOf(run.w, {2, 3}, torch::kFloat));
        layer->bias.copy_(tensorOf(run.bias, {2}, torch::kFloat));
        layer->weightQuantizer()->step_size.fill_(run.step);
        layer->weightQuantizer()->initialized.fill_(1.f);
    }
    // The stored values are the float ones.
    run.w = valuesOf(layer->weight);
    run.bias = valuesOf(layer->bias);
    run.step = layer->weightQuantizer()->step_size.item<double>();

    train::ParamGroups groups = train::splitParameters(*model, {{"0", layer.get()}});
    run.weightCount = int(groups.weights.size());
    run.stepCount = int(groups.steps.size());
    run.weightOwnedByLayer = groups.owners.size() == 2 &&
                             groups.owners[0] == static_cast<quant::QuantLayer*>(layer.get());
    run.biasHasNoOwner = groups.owners.size() == 2 && groups.owners[1] == nullptr;

    const torch::Tensor x = tensorOf(run.x, {4, 3}, torch::kFloat);
    const torch::Tensor t = tensorOf(run.t, {4, 2}, torch::kFloat);
    {
        torch::NoGradGuard noGrad;
        run.yBefore = valuesOf(layer->forward(x));
    }
    session::SquatSpec spec;
    spec.site = "quantized";
    train::SquatStepper stepper(spec, groups, model.get());
    torch::optim::SGD opt(groups.weights, torch::optim::SGDOptions(0.0));
    auto pass = [&](bool firstPass) {
        const torch::Tensor y = layer->forward(x);
        const torch::Tensor loss = 0.5 * (y - t).pow(2).sum();
        loss.backward();
        if (firstPass) {
            run.gradW1 = valuesOf(layer->weight.grad());
            run.gradB1 = valuesOf(layer->bias.grad());
        } else {
            run.latentW2 = valuesOf(layer->weight);
            run.bias2 = valuesOf(layer->bias);
            run.step2 = layer->weightQuantizer()->step_size.item<double>();
            run.y2 = valuesOf(y);
        }
        return loss.item<double>();
    };
    stepper.step(0, rho, pass, opt, nullptr);
    run.wAfter = valuesOf(layer->weight);
    torch::NoGradGuard noGrad;
    run.yAfter = valuesOf(layer->forward(x));
    return run;
}

// ---- Noise tempering -----------------------------------------------------------------------

namespace {

session::NoiseSpec noiseSpec(double lambda0, double tau, double endLambda, double endFraction) {
    session::NoiseSpec spec;
    spec.lambda0 = lambda0;
    spec.tau = tau;
    spec.endLambda = endLambda;
    spec.endFraction = endFraction;
    return spec;
}

}  // namespace

double noiseLambdaAt(double lambda0, double tau, double endLambda, double endFraction, int64_t step,
                     int64_t totalSteps) {
    return train::noiseLambda(noiseSpec(lambda0, tau, endLambda, endFraction), step, totalSteps);
}

double noiseTauOf(double lambda0, double tau, double endLambda, double endFraction,
                  int64_t totalSteps) {
    return train::noiseTau(noiseSpec(lambda0, tau, endLambda, endFraction), totalSteps);
}

NoiseRun runNoise(const NoiseConfig& c) {
    quant::QuantizerOptions options(c.bits, c.isSigned);
    options.channels(c.channels);
    options.learn_grad_scale(c.learnGradScale);
    options.relu_input(c.reluInput);
    quant::Quantizer q(options);
    {
        torch::NoGradGuard noGrad;
        q->step_size.copy_(tensorOf(c.steps, {int64_t(c.steps.size())}, torch::kFloat));
        q->initialized.fill_(1.f);
        if (c.learnGradScale) {
            q->log_grad_scale.fill_(c.logGradScale);
        }
    }
    quant::NoiseOptions noise;
    noise.enabled = c.enabled;
    noise.normal = c.normal;
    noise.halfStep = c.halfStep;
    q->setNoise(noise);
    q->setNoiseLambda(c.lambda);

    NoiseRun run;
    const torch::Tensor x = tensorOf(c.x, c.shape, torch::kFloat);
    run.g = q->gradScaleFor(x);
    {
        torch::NoGradGuard noGrad;
        q->eval();
        run.evalOut = valuesOf(q->forward(x));
        run.plainLsq = valuesOf(quant::lsqQuantize(
            x, q->step_size.detach(), quant::QuantRange::of(c.bits, c.isSigned), run.g));
    }
    q->train();
    torch::manual_seed(c.seed);
    torch::Tensor xr = x.clone().requires_grad_(true);
    const torch::Tensor y = q->forward(xr);
    run.trainOut = valuesOf(y);
    run.xi = valuesOf(q->lastNoise());
    for (const auto& item : q->named_parameters()) {
        run.logGradScaleIsParameter |= item.key() == "log_grad_scale";
    }
    if (!c.upstream.empty()) {
        y.backward(tensorOf(c.upstream, c.shape, torch::kFloat));
        run.inputGrad = valuesOf(xr.grad());
        run.stepGrad = valuesOf(q->step_size.grad());
        if (c.learnGradScale && q->log_grad_scale.grad().defined()) {
            run.logGradScaleHasGrad = true;
            run.logGradScaleGrad = q->log_grad_scale.grad().item<double>();
        }
    }
    torch::NoGradGuard noGrad;
    run.trainOut2 = valuesOf(q->forward(x));
    run.xi2 = valuesOf(q->lastNoise());
    return run;
}

// ---- PTQ calibration -----------------------------------------------------------------------

Vec calibrate(const Vec& v, int64_t rows, int bits, bool isSigned, const std::string& rule,
              double percentile) {
    const torch::Tensor t = tensorOf(
        v, rows > 0 ? std::vector<int64_t>{rows, -1} : std::vector<int64_t>{}, torch::kFloat);
    return valuesOf(
        quant::calibrateSteps(t, quant::QuantRange::of(bits, isSigned), ruleOf(rule), percentile));
}

CalibrateFromRun calibrateQuantizerFrom(const Vec& v, const std::vector<int64_t>& shape, int bits,
                                        bool isSigned, int64_t channels, const std::string& rule,
                                        double percentile) {
    quant::QuantizerOptions options(bits, isSigned);
    options.channels(channels);
    quant::Quantizer q(options);
    CalibrateFromRun run;
    run.initializedBefore = q->isInitialized();
    q->calibrateFrom(tensorOf(v, shape, torch::kFloat), ruleOf(rule), percentile);
    run.initializedAfter = q->isInitialized();
    run.steps = valuesOf(q->step_size);
    return run;
}

CalibrationRun calibrateOverBatches(const std::vector<Vec>& batches, int bits, bool isSigned,
                                    bool reluInput, const std::string& rule, double percentile,
                                    int64_t sampleBudget, const Vec& probe) {
    quant::QuantizerOptions options(bits, isSigned);
    options.relu_input(reluInput);
    quant::Quantizer q(options);
    CalibrationRun run;
    q->beginCalibration(ruleOf(rule), percentile, sampleBudget);
    run.calibratingDuring = true;
    run.initializedDuring = false;
    torch::NoGradGuard noGrad;
    for (const auto& batch : batches) {
        run.outputs.push_back(valuesOf(q->forward(tensorOf(batch, {}, torch::kFloat))));
        run.calibratingDuring = run.calibratingDuring && q->isCalibrating();
        run.initializedDuring = run.initializedDuring || q->isInitialized();
    }
    q->finishCalibration();
    run.calibratingAfter = q->isCalibrating();
    run.initializedAfter = q->isInitialized();
    run.steps = valuesOf(q->step_size);
    q->eval();
    run.probeOut = valuesOf(q->forward(tensorOf(probe, {}, torch::kFloat)));
    return run;
}

// ---- Sharpness -----------------------------------------------------------------------------

namespace {

template <typename Estimator>
SharpnessRun onQuadratic(const std::vector<Vec>& a, const Vec& w0, Estimator estimate) {
    const torch::Tensor am = matrixOf(a);
    torch::Tensor w = tensorOf(w0, {}).requires_grad_(true);
    const torch::Tensor before = w.detach().clone();
    analysis::LossFunction loss = [&](bool withGrad) {
        if (!withGrad) {
            torch::NoGradGuard noGrad;
            return (0.5 * w.dot(am.mv(w))).item<double>();
        }
        zeroGrad(w);
        const torch::Tensor l = 0.5 * w.dot(am.mv(w));
        l.backward();
        return l.item<double>();
    };
    const analysis::SharpnessEstimate r = estimate(std::vector<torch::Tensor>{w}, loss);
    SharpnessRun run;
    run.value = r.value;
    run.baseLoss = r.baseLoss;
    run.perturbedLoss = r.perturbedLoss;
    run.perturbation = r.perturbation.empty() ? Vec{} : valuesOf(r.perturbation[0]);
    run.wAfter = valuesOf(w);
    run.restoredBitwise = torch::equal(w.detach(), before);
    return run;
}

}  // namespace

SharpnessRun rhoBallOnQuadratic(const std::vector<Vec>& a, const Vec& w, double rho, int steps) {
    return onQuadratic(
        a, w, [&](const std::vector<torch::Tensor>& p, const analysis::LossFunction& loss) {
            return analysis::rhoBallSharpness(p, loss, rho, steps);
        });
}

SharpnessRun epsilonOnQuadratic(const std::vector<Vec>& a, const Vec& w, double eps, int steps) {
    return onQuadratic(
        a, w, [&](const std::vector<torch::Tensor>& p, const analysis::LossFunction& loss) {
            return analysis::epsilonSharpness(p, loss, eps, steps);
        });
}

}  // namespace qs::test::methods
