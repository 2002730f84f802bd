// Hessian figures of a stored checkpoint (ALGORITHMS.md section 5, as in PyHessian): the top
// eigenvalues by power iteration with deflation, the trace by Hutchinson's estimator with every
// quantized layer's block trace from the same products, and each layer's sensitivity
// Omega_i(b) = Tr(H_i) / n_i * ||Q_b(W_i) - W_i||^2 for the candidate bit-widths, which
// MixedPrecision.h turns into a bit allocation. Public and torch-free: the CLI and the GUI bridge
// call it; the work runs on the calling thread, which is then the only one touching tensors.
#pragma once

#include "engine/analysis/Sharpness.h"
#include "engine/session/RunSpec.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qs::store {
class RunStore;
struct HessianRow;
}  // namespace qs::store

namespace qs::analysis {

struct HessianOptions {
    int64_t samples = 1000;  ///< fixed subset of the training split
    int batchSize = 250;
    uint64_t seed = 123;  ///< chooses the subset and seeds the random vectors
    /// "float", "dequantized" or "quantize-after" (see loadAnalysisModel); empty: float for a
    /// float model, dequantized for a quantized one. In quantize-after mode the gradient flows
    /// through the quantizers' straight-through estimators, so H is the Hessian of the network
    /// at the quantized weights Q(w) and activations with every quantizer replaced by its
    /// clipped identity (entries of clipped weights are zero).
    std::string mode;
    int topK = 2;             ///< eigenvalues by power iteration (0: none)
    int maxIterations = 100;  ///< per eigenvalue
    double tolerance = 1e-3;  ///< relative change of the eigenvalue that stops the iteration
    int traceSamples = 100;   ///< Rademacher vectors of Hutchinson's estimator (0: no trace)
    std::vector<int> candidateBits{2, 3, 4, 8};  ///< Omega_i(b) is computed for these
    int threads = 0;                             ///< 0: all cores
    std::string dataPath;                        ///< overrides the spec's dataset folder when set
    /// Keep the first-order gradient graphs of the subset between products (about twice as
    /// fast; memory grows with the subset).
    bool cacheGraph = true;
};

/// One quantizable layer (conv or linear weight) of the analysed model.
struct LayerHessian {
    std::string layer;     ///< parameter path, e.g. "layer1.0.conv1"
    int64_t params = 0;    ///< n_i: elements of the weight
    int64_t macs = 0;      ///< multiply-accumulates of one input sample
    double trace = 0.0;    ///< Tr(H_i) of the weight's diagonal block (Hutchinson)
    double traceSe = 0.0;  ///< its standard error
    /// Omega_i(b) = Tr(H_i) / n_i * ||Q_b(W_i) - W_i||^2, Q_b the LSQ quantizer at b bits with
    /// the engine's initial step size for b bits (2 mean|W| / sqrt(Qp), per output channel
    /// when the spec quantizes per channel), applied to the latent (float) weights; the same
    /// rule at every b, trained bit-width included, so figures compare across checkpoints.
    std::map<int, double> omega;
};

struct HessianReport {
    std::string checkpoint;
    int64_t step = 0;  ///< training step recorded in the checkpoint (0 if none)
    std::string method;
    std::string mode;
    int64_t samples = 0;
    uint64_t seed = 0;
    std::vector<double> eigenvalues;  ///< largest magnitude first
    std::vector<int> eigenIterations;
    double trace = 0.0;  ///< over every perturbed tensor (weights, biases, BatchNorm affine)
    double traceSe = 0.0;
    int traceSamples = 0;
    std::vector<LayerHessian> layers;  ///< forward order: the first is the stem, the last fc
};

/// Rebuilds the model from the checkpoint's own spec (metadata "spec"), loads its tensors and
/// computes the figures on a fixed seeded subset of the training split, the model in eval mode.
/// Progress is reported once per Hessian-vector product. Throws std::invalid_argument for bad
/// options (naming the option), std::runtime_error naming the file for a checkpoint that cannot
/// be used, AnalysisCancelled when *cancel becomes true.
///
/// Example:
///   HessianOptions o;
///   o.samples = 500;
///   HessianReport r = analyzeHessian("runs/1/last.safetensors", o);
///   // r.eigenvalues[0]: top eigenvalue; r.layers[i].omega.at(4): layer i's 4-bit sensitivity
HessianReport analyzeHessian(const std::string& checkpoint, const HessianOptions& options,
                             const AnalysisProgress& progress = {},
                             const std::atomic<bool>* cancel = nullptr);

/// Records the report (runId 0: not attached to a run); returns its id in the store. For a run,
/// also keeps the top eigenvalue and the trace among its final metrics as
/// "hessian/top_eigenvalue/<mode>" and "hessian/trace/<mode>".
int64_t recordHessian(store::RunStore& store, int64_t runId, const HessianReport& report);

/// The run spec in a checkpoint's metadata (what an allocation's spec starts from). Throws
/// std::runtime_error naming the file.
session::RunSpec checkpointRunSpec(const std::string& checkpoint);

/// A report read back from the store (method is left empty: the store does not keep it).
HessianReport reportFromRow(const store::HessianRow& row);

}  // namespace qs::analysis
