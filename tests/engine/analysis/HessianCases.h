// Torch-side cases for test_hessian: Hessian-vector products, power iteration and Hutchinson's
// estimator on matrices the test chooses, and products of a tiny ResNet, returning plain values
// so the Qt Test file never sees a torch header. Expectations are computed in the Test file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::hessian {

using Vec = std::vector<double>;
using Matrix = std::vector<Vec>;

/// lossHvp on L(w) = sum_b 0.5 w' A_b w (double precision), w the concatenation of tensors of
/// the sizes in `split`: Hv flattened in the same order.
Vec quadraticHvp(const std::vector<Matrix>& batchMatrices, const std::vector<int64_t>& split,
                 const Vec& w, const Vec& v, bool cacheGraph);

struct EigenOut {
    Vec values;
    std::vector<Vec> vectors;  ///< flattened over the tensors
    std::vector<int> iterations;
};

/// topEigen with the exact product H v (H symmetric), the vector split into tensors.
EigenOut eigenOfMatrix(const Matrix& h, const std::vector<int64_t>& split, int k, int maxIterations,
                       double tolerance, uint64_t seed);

struct TraceOut {
    double trace = 0.0;
    double traceSe = 0.0;
    Vec blockTrace;  ///< one block per tensor of the split
    Vec blockTraceSe;
};

/// hutchinsonTrace with the exact product H v, one block per tensor of the split.
TraceOut traceOfMatrix(const Matrix& h, const std::vector<int64_t>& split, int samples,
                       uint64_t seed);

/// The message of the std::invalid_argument topEigen throws for this k (empty: none thrown).
std::string eigenError(int k);

/// How many products topEigen ran before its callback said stop after `after` of them, or -1
/// when it did not throw AnalysisCancelled.
int productsBeforeCancel(int after);

/// Products of a tiny ResNet-20 (1 x 8 x 8 inputs, 4 classes, 24 random images, batches of 10,
/// eval mode) at random directions u, v.
struct ModelHvpCheck {
    /// ||Hv - (g(w + eps v) - g(w - eps v)) / (2 eps)|| / ||Hv|| (float model, double precision;
    /// NaN for the quantized model, whose gradient is a staircase).
    double finiteDifferenceError = 0.0;
    /// |<u, Hv> - <v, Hu>| / (|<u, Hv>| + |<v, Hu>|): a Hessian is symmetric.
    double symmetryError = 0.0;
    /// ||Hv(cached graphs) - Hv(recomputed)|| / ||Hv||.
    double cacheError = 0.0;
    double hvNorm = 0.0;
};

/// `quantized`: W4A4 LSQ quantizers (float32, quantize-after: gradients through the
/// straight-through estimators); otherwise the float model in double precision.
ModelHvpCheck checkModelHvp(bool quantized);

}  // namespace qs::test::hessian
