// Sharpness measures of a stored checkpoint (ALGORITHMS.md section 6): rho-ball sharpness and
// epsilon-sharpness, for quantized models in the "dequantized" and "quantize after perturbing"
// modes. Public and torch-free: the CLI and the GUI bridge call it; the work runs on the calling
// thread, which is then the only one touching tensors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::store {
class RunStore;
}

namespace qs::analysis {

struct SharpnessOptions {
    /// "rho-ball" and/or "epsilon".
    std::vector<std::string> measures{"rho-ball", "epsilon"};
    /// "float" (latent weights, no quantizers), "dequantized" (weights set to Q(w) and perturbed
    /// as floats, activations quantized), "quantize-after" (L(Q(w + e)), the staircase); empty:
    /// float for a float model, dequantized and quantize-after for a quantized one.
    std::vector<std::string> modes;
    double rho = 0.05;       ///< radius of the L2 ball
    int rhoSteps = 5;        ///< normalised gradient-ascent steps (1 = SAM's estimate)
    double eps = 1e-3;       ///< box half-width factor: |e_i| <= eps (|w_i| + 1)
    int epsSteps = 15;       ///< projected sign-gradient steps
    int64_t samples = 1000;  ///< fixed subset of the training split
    int batchSize = 250;
    uint64_t seed = 123;   ///< chooses the subset
    int threads = 0;       ///< 0: all cores
    std::string dataPath;  ///< overrides the spec's dataset folder when set
};

/// One measured figure.
struct SharpnessFigure {
    std::string measure;  ///< "rho-ball" | "epsilon"
    std::string mode;     ///< "float" | "dequantized" | "quantize-after"
    double radius = 0.0;  ///< rho or eps
    double value = 0.0;   ///< rho-ball: max_k L(w+e_k) - L(w); epsilon: that over (1 + L(w)), in %
    double baseLoss = 0.0;
    double perturbedLoss = 0.0;
    int ascentSteps = 0;
    int64_t samples = 0;
    uint64_t seed = 0;
};

struct SharpnessReport {
    std::string checkpoint;
    int64_t step = 0;  ///< training step recorded in the checkpoint (0 if none)
    std::string method;
    std::vector<SharpnessFigure> figures;
};

/// Called with a phase ("rho-ball, dequantized") and the fraction of the work done.
using AnalysisProgress = std::function<void(const std::string& phase, double fraction)>;

/// The analysis was cancelled through its flag.
class AnalysisCancelled : public std::runtime_error {
public:
    AnalysisCancelled() : std::runtime_error("the analysis was cancelled") {}
};

/// Rebuilds the model from the checkpoint's own spec (metadata "spec"), loads its tensors and
/// measures. Throws std::runtime_error naming the file for a checkpoint that cannot be used,
/// AnalysisCancelled when *cancel becomes true.
SharpnessReport measureSharpness(const std::string& checkpoint, const SharpnessOptions& options,
                                 const AnalysisProgress& progress = {},
                                 const std::atomic<bool>* cancel = nullptr);

/// The checkpoint a run's analyses use: last.safetensors in its checkpoint folder. Throws
/// std::runtime_error when the run has none.
std::string runCheckpoint(const store::RunStore& store, int64_t runId);

/// Records every figure (runId 0: not attached to a run) and, for a run, also keeps the newest
/// figure of each measure and mode among its final metrics as "sharpness/<measure>/<mode>".
void recordSharpness(store::RunStore& store, int64_t runId, const SharpnessReport& report);

}  // namespace qs::analysis
