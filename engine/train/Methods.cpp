#include "engine/train/Methods.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <optional>

namespace qs::train {

bool isQuantizerParameter(const std::string& name) {
    // weight_quantizer., input_quantizer., and BERT's q_/k_/probs_/v_quantizer.
    return name.find("_quantizer.") != std::string::npos;
}

namespace {

bool isBatchNormBuffer(const std::string& name) {
    auto endsWith = [&](const char* suffix) {
        const std::string s(suffix);
        return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    return endsWith("running_mean") || endsWith("running_var") || endsWith("num_batches_tracked");
}

}  // namespace

ParamGroups splitParameters(torch::nn::Module& model,
                            const std::vector<std::pair<std::string, quant::QuantLayer*>>& layers) {
    std::map<std::string, quant::QuantLayer*> ownerOf;
    for (const auto& [path, layer] : layers) {
        if (layer->weightQuantizer()) {
            ownerOf[path + ".weight"] = layer;
        }
    }
    ParamGroups groups;
    for (const auto& item : model.named_parameters()) {
        if (!item.value().requires_grad()) {
            continue;
        }
        if (isQuantizerParameter(item.key())) {
            groups.steps.push_back(item.value());
        } else {
            groups.weights.push_back(item.value());
            auto it = ownerOf.find(item.key());
            groups.owners.push_back(it == ownerOf.end() ? nullptr : it->second);
        }
    }
    return groups;
}

namespace {

/// L2 norm over a list of tensors (undefined ones count as 0), with one read-out at the end.
double normOf(const std::vector<torch::Tensor>& tensors) {
    std::vector<torch::Tensor> norms;
    norms.reserve(tensors.size());
    for (const auto& t : tensors) {
        if (t.defined()) {
            norms.push_back(t.detach().norm().reshape({1}));
        }
    }
    return norms.empty() ? 0.0 : torch::cat(norms).to(torch::kDouble).norm().item<double>();
}

}  // namespace

double gradNorm(const std::vector<torch::Tensor>& params) {
    std::vector<torch::Tensor> grads;
    grads.reserve(params.size());
    for (const auto& p : params) {
        grads.push_back(p.grad());
    }
    return normOf(grads);
}

std::vector<torch::Tensor> samPerturbation(const std::vector<torch::Tensor>& params, double rho,
                                           bool adaptive) {
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> scaled;  // T g (T = 1 for plain SAM)
    scaled.reserve(params.size());
    for (const auto& p : params) {
        if (!p.grad().defined()) {
            scaled.emplace_back();
            continue;
        }
        torch::Tensor tg = p.grad();
        if (adaptive && p.dim() > 1) {
            tg = (p.abs() + 0.01) * tg;
        }
        scaled.push_back(tg);
    }
    const double norm = normOf(scaled);
    std::vector<torch::Tensor> e;
    e.reserve(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        if (!scaled[i].defined() || !(norm > 0.0)) {
            e.push_back(torch::zeros_like(params[i]));
            continue;
        }
        // e = rho T (T g) / ||T g||.
        torch::Tensor ei = scaled[i] * (rho / norm);
        if (adaptive && params[i].dim() > 1) {
            ei = (params[i].abs() + 0.01) * ei;
        }
        e.push_back(ei);
    }
    return e;
}

BatchNormSnapshot::BatchNormSnapshot(torch::nn::Module& model) {
    torch::NoGradGuard noGrad;
    for (const auto& item : model.named_buffers()) {
        if (isBatchNormBuffer(item.key())) {
            m_saved.emplace_back(item.value(), item.value().clone());
        }
    }
}

void BatchNormSnapshot::restore() {
    torch::NoGradGuard noGrad;
    for (auto& [buffer, copy] : m_saved) {
        buffer.copy_(copy);
    }
}

SquatStepper::SquatStepper(const session::SquatSpec& spec, ParamGroups params,
                           torch::nn::Module* model)
    : m_spec(spec), m_params(std::move(params)), m_model(model) {}

SquatStepper::Phase SquatStepper::phaseOf(int64_t step) const {
    if (m_spec.schedule != "alternate" || m_spec.joint) {
        return Phase::Both;
    }
    return step % (m_spec.k + 1) == m_spec.k ? Phase::StepsOnly : Phase::SamOnly;
}

void SquatStepper::perturb(const std::vector<torch::Tensor>& tensors,
                           const std::vector<torch::Tensor>& e, bool quantizedSite) {
    torch::NoGradGuard noGrad;
    m_saved.clear();
    m_offsetLayers.clear();
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        quant::QuantLayer* owner =
            quantizedSite && i < m_params.owners.size() ? m_params.owners[i] : nullptr;
        if (owner) {
            owner->setWeightOffset(e[i]);  // Q(w) + e
            m_offsetLayers.push_back(owner);
            continue;
        }
        m_saved.emplace_back(tensors[i], tensors[i].detach().clone());
        tensors[i].add_(e[i]);
    }
}

void SquatStepper::restore() {
    torch::NoGradGuard noGrad;
    // Copies, not w - e: floating-point subtraction would not give back w exactly.
    for (auto& [tensor, copy] : m_saved) {
        tensor.copy_(copy);
    }
    for (quant::QuantLayer* layer : m_offsetLayers) {
        layer->setWeightOffset(torch::Tensor());
    }
    m_saved.clear();
    m_offsetLayers.clear();
}

StepReport SquatStepper::step(int64_t step, double rho, const ForwardBackward& pass,
                              torch::optim::Optimizer& weights, torch::optim::Optimizer* steps) {
    StepReport r;
    const Phase phase = phaseOf(step);
    weights.zero_grad();
    if (steps) {
        steps->zero_grad();
    }
    r.loss = pass(true);
    r.stepGradNorm = gradNorm(m_params.steps);
    if (phase == Phase::StepsOnly) {
        // Alternate k:1, the step-size step: LSQ on s with w frozen.
        if (steps) {
            steps->step();
        }
        return r;
    }

    std::vector<torch::Tensor> perturbed = m_params.weights;
    if (m_spec.joint) {
        perturbed.insert(perturbed.end(), m_params.steps.begin(), m_params.steps.end());
    } else if (phase == Phase::Both && steps) {
        steps->step();  // the step-size objective: the unperturbed gradient only
    }
    r.gradNorm = gradNorm(perturbed);
    const std::vector<torch::Tensor> e = samPerturbation(perturbed, rho, m_spec.asam);
    r.perturbNorm = normOf(e);
    perturb(perturbed, e, m_spec.site == "quantized");
    if (m_spec.joint) {
        torch::NoGradGuard noGrad;
        for (const auto& s : m_params.steps) {
            s.clamp_min_(1e-8);  // a step size must stay positive
        }
    }

    weights.zero_grad();
    if (steps) {
        steps->zero_grad();
    }
    {
        std::optional<BatchNormSnapshot> bn;
        if (m_model) {
            bn.emplace(*m_model);
        }
        r.perturbedLoss = pass(false);
        if (bn) {
            bn->restore();  // running statistics move only in the first pass
        }
    }
    restore();
    weights.step();
    if (m_spec.joint && steps) {
        steps->step();
    } else if (steps) {
        steps->zero_grad();  // the second pass's step-size gradient is discarded
    }
    r.perturbed = true;
    return r;
}

double noiseTau(const session::NoiseSpec& spec, int64_t totalSteps) {
    if (spec.tau > 0.0) {
        return spec.tau;
    }
    if (!(spec.lambda0 > 0.0) || !(spec.endLambda > 0.0) || spec.endLambda >= spec.lambda0) {
        return 1.0;
    }
    const double at = spec.endFraction * double(std::max<int64_t>(1, totalSteps));
    return at / std::log(spec.lambda0 / spec.endLambda);
}

double noiseLambda(const session::NoiseSpec& spec, int64_t step, int64_t totalSteps) {
    return spec.lambda0 * std::exp(-double(step) / noiseTau(spec, totalSteps));
}

torch::Tensor softCrossEntropy(const torch::Tensor& student, const torch::Tensor& teacher,
                               double temperature) {
    const torch::Tensor target = torch::softmax(teacher.detach() / temperature, 1);
    const torch::Tensor logp = torch::log_softmax(student / temperature, 1);
    return -(target * logp).sum(1).mean() * (temperature * temperature);
}

}  // namespace qs::train
