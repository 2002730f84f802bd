// The Hessian machinery on a plain list of tensors and a Hessian-vector-product callback
// (ALGORITHMS.md section 5), so tests can check it on quadratics and other analyses (the loss
// landscape's eigenvector directions) can reuse it. Internal header (torch).
#pragma once

#include "engine/analysis/SharpnessCore.h"
#include "engine/data/Datasets.h"
#include "engine/models/Network.h"

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace qs::analysis {

/// Hv for a direction v shaped like the parameters (one tensor per parameter, same order).
using HvpFunction = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>& v)>;

/// Top eigenpairs of the Hessian, largest magnitude first.
struct EigenResult {
    std::vector<double> values;
    /// One list per eigenvector, shaped like the parameters; unit norm over all the tensors.
    std::vector<std::vector<torch::Tensor>> vectors;
    std::vector<int> iterations;  ///< power iterations each eigenvalue took
};

/// Power iteration with deflation (PyHessian): for each of the k eigenpairs, start from a seeded
/// Gaussian vector and iterate v <- H v / ||H v||, each time orthogonalised against the
/// eigenvectors already found, until the Rayleigh quotient changes by less than `tolerance`
/// relative to its previous value or `maxIterations` products were spent. `onIteration` runs
/// after every product; returning false cancels (AnalysisCancelled). Throws
/// std::invalid_argument for k < 1 or maxIterations < 1.
///
/// Example:
///   EigenResult top2 = topEigen(params, modelHvp(model, params, subset, 250), 2);
///   // top2.vectors[0] and [1]: landscape directions shaped like `params`
EigenResult topEigen(const std::vector<torch::Tensor>& params, const HvpFunction& hvp, int k,
                     int maxIterations = 100, double tolerance = 1e-3, uint64_t seed = 123,
                     const PassCallback& onIteration = {});

/// A Hutchinson trace estimate over the whole parameter list and over blocks of it.
struct TraceEstimate {
    double trace = 0.0;
    double traceSe = 0.0;              ///< standard error of the mean over the samples
    std::vector<double> blockTrace;    ///< one per block
    std::vector<double> blockTraceSe;  ///< one per block
    int samples = 0;
};

/// Tr(H) by Hutchinson with Rademacher vectors: the mean of v'Hv over `samples` seeded draws,
/// with its standard error (sample standard deviation / sqrt(samples); 0 for one sample). Each
/// product also gives every block's trace: block i is the parameters listed in blocks[i], its
/// estimate the mean of the sum of v * Hv over those tensors. `onSample` runs after every
/// product; returning false cancels (AnalysisCancelled). Throws std::invalid_argument for
/// samples < 1 or a block index out of range.
TraceEstimate hutchinsonTrace(const std::vector<torch::Tensor>& params, const HvpFunction& hvp,
                              const std::vector<std::vector<std::size_t>>& blocks, int samples,
                              uint64_t seed = 123, const PassCallback& onSample = {});

/// One batch's share of a loss (0 <= batch < batches), computed with gradients enabled so it is
/// connected to the parameters' graph; the shares sum to the loss.
using BatchLoss = std::function<torch::Tensor(int64_t batch)>;

/// Hv of the loss sum_b batchLoss(b) with respect to `params` (which must require gradients):
/// per batch, the gradient with create_graph, then the gradient of <grad, v>, summed. With
/// `cacheGraph` the first-order gradients and their graphs are computed once and kept for every
/// later product (one backward per product instead of a forward and two backwards; memory grows
/// with the batches). `params` must outlive the returned function.
HvpFunction lossHvp(const std::vector<torch::Tensor>& params, BatchLoss batchLoss, int64_t batches,
                    bool cacheGraph = true);

/// Hv of the mean cross-entropy of `model` over `data` with respect to `params`: lossHvp over
/// batches of `batchSize`, each weighing its size / n (its summed loss over n). The model is used
/// as it is (put it in eval mode first). The returned function holds references to model,
/// params and data: they must outlive it.
HvpFunction modelHvp(models::NetworkImpl& model, const std::vector<torch::Tensor>& params,
                     const data::TensorSet& data, int batchSize, bool cacheGraph = true);

}  // namespace qs::analysis
