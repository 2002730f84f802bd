// The per-step machinery of the training methods (ALGORITHMS.md sections 2-4): SAM/ASAM
// perturbations, SQuAT's schedules, noise tempering's lambda_t, distillation's soft loss.
// Written against plain parameter lists and a "forward and backward" callback so the tests can
// drive them on a quadratic as well as on a network. Internal header (torch).
#pragma once

#include "engine/quant/QuantLayers.h"
#include "engine/session/RunSpec.h"

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <functional>
#include <string>
#include <vector>

namespace qs::train {

/// The model's trainable tensors as the methods see them.
struct ParamGroups {
    std::vector<torch::Tensor> weights;  ///< everything trainable except quantizer parameters
    /// For each weight: the quantized layer whose quantizer it feeds (null: not quantized);
    /// SQuAT's "quantized" site perturbs Q(w) of these through QuantLayer::setWeightOffset.
    std::vector<quant::QuantLayer*> owners;
    std::vector<torch::Tensor> steps;  ///< quantizer step sizes (and noise tempering's kappa)
};

/// True for a quantizer's own parameters (step sizes, noise tempering's kappa), by path:
/// "...weight_quantizer.*", "...input_quantizer.*" and BERT's attention matmul quantizers
/// ("...self.q_quantizer.*"): any "_quantizer." in the path.
bool isQuantizerParameter(const std::string& name);

/// Splits a model's trainable parameters with isQuantizerParameter; `layers` maps a quantized
/// layer's path to the layer.
ParamGroups splitParameters(torch::nn::Module& model,
                            const std::vector<std::pair<std::string, quant::QuantLayer*>>& layers);

/// L2 norm over the gradients of a list of tensors (tensors without a gradient count as 0).
double gradNorm(const std::vector<torch::Tensor>& params);

/// SAM's perturbation from the current gradients: e = rho g / ||g|| (one norm over all of them),
/// or for ASAM e = rho T^2 g / ||T g|| with T = |w| + 0.01 on tensors of dim > 1 and 1 on the
/// others. A zero gradient gives e = 0. Tensors without a gradient get a zero e.
std::vector<torch::Tensor> samPerturbation(const std::vector<torch::Tensor>& params, double rho,
                                           bool adaptive);

/// Copies of every BatchNorm buffer (running mean/var, batch counter) of a model, restorable
/// exactly: SAM's second pass must not move the running statistics.
class BatchNormSnapshot {
public:
    explicit BatchNormSnapshot(torch::nn::Module& model);
    void restore();

private:
    std::vector<std::pair<torch::Tensor, torch::Tensor>> m_saved;  ///< (buffer, copy)
};

/// What a step reports besides the loss (NaN where a method has no such figure).
struct StepReport {
    double loss = 0.0;  ///< loss of the (first) forward at the unperturbed point
    double perturbedLoss = 0.0;
    double gradNorm = 0.0;      ///< ||grad|| of the perturbed tensors before perturbing
    double perturbNorm = 0.0;   ///< ||e||
    double stepGradNorm = 0.0;  ///< ||grad_s|| used for the step-size update
    bool perturbed = false;     ///< the step had a SAM pass
};

/// Runs forward and backward on the current batch (gradients accumulate into .grad) and
/// returns the loss. `firstPass` tells whether this is the batch's first forward.
using ForwardBackward = std::function<double(bool firstPass)>;

/// SQuAT (and the joint SAM ablation) on one batch; which update happens is decided by the
/// spec's schedule and the step number.
class SquatStepper {
public:
    SquatStepper(const session::SquatSpec& spec, ParamGroups params, torch::nn::Module* model);

    /// One batch at global step `step` with radius rho. The optimizers' zero_grad is called
    /// here; `weights` steps the weight tensors, `steps` the step sizes (may be null when there
    /// are none).
    StepReport step(int64_t step, double rho, const ForwardBackward& pass,
                    torch::optim::Optimizer& weights, torch::optim::Optimizer* steps);

    /// The role of a step in the schedule: per-step and joint always "both"; alternate k:1
    /// gives k "sam" steps then one "steps".
    enum class Phase { Both, SamOnly, StepsOnly };
    Phase phaseOf(int64_t step) const;

private:
    /// Adds e to the weights (latent site) or installs Q(w) + e offsets (quantized site);
    /// returns copies of what it changed so restore() puts back the exact values.
    void perturb(const std::vector<torch::Tensor>& tensors, const std::vector<torch::Tensor>& e,
                 bool quantizedSite);
    void restore();

    session::SquatSpec m_spec;
    ParamGroups m_params;
    torch::nn::Module* m_model;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> m_saved;
    std::vector<quant::QuantLayer*> m_offsetLayers;
};

/// lambda_t = lambda0 exp(-t / tau); tau = 0 in the spec means tau such that lambda reaches
/// end_lambda at end_fraction of totalSteps.
double noiseLambda(const session::NoiseSpec& spec, int64_t step, int64_t totalSteps);
double noiseTau(const session::NoiseSpec& spec, int64_t totalSteps);

/// Soft cross-entropy of the student against the teacher at temperature T, times T^2 (so its
/// gradient scale does not depend on T): T^2 mean_n sum_c -softmax(t/T) log_softmax(s/T).
torch::Tensor softCrossEntropy(const torch::Tensor& student, const torch::Tensor& teacher,
                               double temperature);

}  // namespace qs::train
