// The sharpness estimators on a plain list of tensors and a loss callback (ALGORITHMS.md
// section 6), so tests can check them on a quadratic. Internal header (torch).
#pragma once

#include <torch/types.h>

#include <functional>
#include <vector>

namespace qs::analysis {

/// Mean loss at the tensors' current values; with `withGrad` it also leaves the gradient of
/// that mean loss in each tensor's .grad() (which it zeroes first).
using LossFunction = std::function<double(bool withGrad)>;

/// Called after every loss evaluation; returns false to stop (cancel).
using PassCallback = std::function<bool()>;

struct SharpnessEstimate {
    double value = 0.0;
    double baseLoss = 0.0;
    double perturbedLoss = 0.0;  ///< the largest loss seen on the perturbed points
    /// The final perturbation (per tensor), for tests.
    std::vector<torch::Tensor> perturbation;
};

/// max over ||e|| <= rho of L(w + e) - L(w) by `steps` steps of normalised gradient ascent
/// (e <- e + rho g / ||g||, projected back on the ball); step 1 is SAM's e = rho g / ||g||. The
/// tensors are left at their original values (restored by copy).
SharpnessEstimate rhoBallSharpness(const std::vector<torch::Tensor>& params,
                                   const LossFunction& loss, double rho, int steps,
                                   const PassCallback& onPass = {});

/// Keskar's epsilon-sharpness: max over |e_i| <= eps (|w_i| + 1) of
/// (L(w + e) - L(w)) / (1 + L(w)) * 100, by `steps` projected sign-gradient steps of a quarter
/// of the box each.
SharpnessEstimate epsilonSharpness(const std::vector<torch::Tensor>& params,
                                   const LossFunction& loss, double eps, int steps,
                                   const PassCallback& onPass = {});

}  // namespace qs::analysis
