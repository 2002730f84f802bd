// The landscape machinery on tensors (ALGORITHMS.md section 7): filter-normalised directions,
// directions from given tensors (the Hessian's eigenvectors, a second checkpoint), and a point
// evaluator that moves a model's tensors in place. Internal header (torch).
#pragma once

#include "engine/data/Datasets.h"
#include "engine/models/Network.h"

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qs::analysis {

/// The tensors a landscape moves, by path in the model, and their directions: the point (a, b)
/// is w + a dx + b dy. dy is empty for a 1D curve.
struct LandscapeDirections {
    std::vector<std::string> names;
    std::vector<torch::Tensor> dx;
    std::vector<torch::Tensor> dy;
};

/// A Gaussian direction drawn from `generator` for each tensor, in order, then rescaled per
/// filter (slice along dim 0: a conv output channel, a Linear row) so that
/// ||d_filter|| = ||w_filter||. Tensors with dim <= 1 (biases, BatchNorm) get zeros and draw
/// nothing.
std::vector<torch::Tensor> filterNormalizedDirection(const std::vector<torch::Tensor>& weights,
                                                     at::Generator& generator);

/// Li et al.'s directions over the model's perturbed parameters (perturbedParameters: step
/// sizes excluded), dx then dy drawn from one generator seeded with `seed` (a 1D curve's dx
/// equals a surface's). The model should hold the latent (float) weights.
LandscapeDirections randomDirections(models::NetworkImpl& model, uint64_t seed, bool twoD);

/// Wraps given directions (one or two tensors per perturbed parameter of the model, in
/// perturbedParameters order), e.g. the top Hessian eigenvectors. Throws std::invalid_argument
/// when their number or shapes do not match the model.
LandscapeDirections givenDirections(models::NetworkImpl& model,
                                    const std::vector<std::vector<torch::Tensor>>& directions);

/// The line from `model` to `other` (same architecture): dx = w_other - w over the perturbed
/// parameters and the BatchNorm running statistics, so the ends of the line are both models.
LandscapeDirections interpolationDirection(models::NetworkImpl& model, models::NetworkImpl& other);

/// Evaluates grid points on one model: its tensors named in the directions are set in place to
/// w0 + a dx + b dy (w0: their values at construction), then the mean cross-entropy and the
/// accuracy over the subset are measured in eval mode without gradients. The directions and the
/// subset are shared read-only, so evaluators on different models may run on different threads.
class PointEvaluator {
public:
    PointEvaluator(models::Network model, const LandscapeDirections& directions,
                   const data::TensorSet& subset, int batchSize);
    ~PointEvaluator();
    PointEvaluator(const PointEvaluator&) = delete;
    PointEvaluator& operator=(const PointEvaluator&) = delete;

    /// (mean loss, accuracy) at w0 + a dx + b dy.
    std::pair<double, double> evaluate(double a, double b);
    /// Puts w0 back (exact copies).
    void restore();

private:
    models::Network m_model;
    const LandscapeDirections& m_directions;
    const data::TensorSet& m_subset;
    int m_batchSize;
    std::vector<torch::Tensor> m_targets;
    std::vector<torch::Tensor> m_start;
};

}  // namespace qs::analysis
