// Torch-side cases for test_methods: SAM/ASAM, SQuAT's stepper, noise tempering, PTQ
// calibration and the sharpness estimators, run on plain inputs and returning plain values, so
// the Qt Test file never sees a torch header. The expectations are computed in the Test file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::methods {

using Vec = std::vector<double>;

// ---- SAM / ASAM ----------------------------------------------------------------------------

/// One tensor for samPerturbation: its values, shape and gradient (none: no .grad at all).
struct TensorInput {
    Vec values;
    std::vector<int64_t> shape;
    Vec grad;
    bool hasGrad = true;
};

/// samPerturbation over the tensors (double precision), one flattened e per tensor.
std::vector<Vec> samPerturbationOf(const std::vector<TensorInput>& params, double rho,
                                   bool adaptive);

// ---- SQuAT on a quadratic ------------------------------------------------------------------

/// L(w, s) = 0.5 w'Aw + c (s - s0)^2 + (w'b) s, with w a vector leaf and s a one-element leaf
/// (the "step size"), both double.
struct Quadratic {
    std::vector<Vec> a;  ///< A, symmetric positive definite, n x n
    Vec b;
    double c = 0.0;
    double s0 = 0.0;
    Vec w;     ///< start point
    double s;  ///< start step size
};

struct SquatConfig {
    std::string schedule = "per-step";
    int k = 1;
    bool joint = false;
    double rho = 0.05;
    double lrWeights = 0.1;  ///< plain SGD, no momentum
    double lrSteps = 0.1;
    int steps = 1;
};

/// What the ForwardBackward callback saw on one call.
struct PassSeen {
    bool firstPass = false;
    Vec w;
    double s = 0.0;
    double loss = 0.0;
};

struct SquatStepSeen {
    std::string phase;  ///< phaseOf(step): "both", "sam", "steps"
    Vec wBefore, wAfter;
    double sBefore = 0.0, sAfter = 0.0;
    std::vector<PassSeen> passes;
    // the StepReport
    double loss = 0.0;
    double perturbedLoss = 0.0;
    double gradNorm = 0.0;
    double perturbNorm = 0.0;
    double stepGradNorm = 0.0;
    bool perturbed = false;
    bool weightsBitwiseUnchanged = false;  ///< torch::equal(wAfter, wBefore)
};

/// Runs config.steps SquatStepper steps (global steps 0, 1, ...) on the quadratic.
std::vector<SquatStepSeen> runSquatOnQuadratic(const Quadratic& q, const SquatConfig& config);

/// phaseOf(step) for steps 0 .. count-1 as "both" / "sam" / "steps".
std::vector<std::string> phasesOf(const std::string& schedule, int k, bool joint, int count);

// ---- SQuAT and BatchNorm -------------------------------------------------------------------

/// Linear(3, 4) + BatchNorm1d(4), one SquatStepper step against one plain train-mode forward
/// (and two, to show what a second update would have done) on the same batch and start.
struct BatchNormRun {
    Vec meanAfterSquat, varAfterSquat;
    int64_t batchesAfterSquat = -1;
    Vec meanAfterOne, varAfterOne;
    int64_t batchesAfterOne = -1;
    Vec meanAfterTwo;  ///< two plain forwards on the same batch
    Vec meanBefore;
    int passes = 0;                     ///< callback calls
    bool secondPassInTraining = false;  ///< the model was in train mode in pass 2
    bool weightsChanged = false;        ///< the weight optimizer did step
};
BatchNormRun batchNormAroundSquat();

// ---- SQuAT's quantized site ----------------------------------------------------------------

/// A QLinear(3, 2) with bias and a 3-bit weight quantizer inside a Sequential ("0"), latent
/// weights and step fixed by hand; loss 0.5 sum((y - t)^2). One SquatStepper step with
/// site "quantized", no step-size optimizer and weight lr = 0.
struct QuantizedSiteRun {
    // splitParameters
    int weightCount = 0;
    int stepCount = 0;
    bool weightOwnedByLayer = false;  ///< owners[0] is the QLinear
    bool biasHasNoOwner = false;      ///< owners[1] is null
    // inputs (row-major)
    Vec x;  ///< [4, 3]
    Vec t;  ///< [4, 2]
    Vec w;  ///< [2, 3] latent weight before
    Vec bias;
    double step = 0.0;
    // pass 1
    Vec gradW1, gradB1;
    // pass 2
    Vec latentW2;  ///< the latent weight as the callback saw it
    Vec bias2;
    double step2 = 0.0;
    Vec y2;  ///< the layer output in pass 2
    // after the step
    Vec wAfter;
    Vec yBefore, yAfter;  ///< training-mode outputs before and after the step
};
QuantizedSiteRun quantizedSiteStep(double rho);

// ---- Noise tempering -----------------------------------------------------------------------

double noiseLambdaAt(double lambda0, double tau, double endLambda, double endFraction, int64_t step,
                     int64_t totalSteps);
double noiseTauOf(double lambda0, double tau, double endLambda, double endFraction,
                  int64_t totalSteps);

struct NoiseConfig {
    int bits = 3;
    bool isSigned = true;
    int64_t channels = 0;  ///< >0: per-channel along dim 0
    bool normal = false;
    bool halfStep = false;
    bool enabled = true;
    double lambda = 0.5;
    Vec x;
    std::vector<int64_t> shape;
    Vec steps;     ///< step sizes, set by hand (the quantizer is marked initialized)
    Vec upstream;  ///< dy for the backward of the training forward; empty: no backward
    bool learnGradScale = false;
    double logGradScale = 0.0;
    bool reluInput = false;  ///< fused ReLU (unsigned range): e against max(x, 0)
    uint64_t seed = 1;
};

struct NoiseRun {
    Vec evalOut;         ///< eval-mode forward
    Vec plainLsq;        ///< lsqQuantize(x, s, range, g) (no module)
    Vec trainOut;        ///< training-mode forward
    Vec xi;              ///< lastNoise() after the training forward
    Vec trainOut2, xi2;  ///< a second training forward (fresh noise)
    double g = 0.0;      ///< gradScaleFor(x)
    Vec inputGrad;       ///< from the training forward's backward
    Vec stepGrad;
    double logGradScaleGrad = 0.0;  ///< with learnGradScale
    bool logGradScaleHasGrad = false;
    bool logGradScaleIsParameter = false;
};
NoiseRun runNoise(const NoiseConfig& config);

// ---- PTQ calibration -----------------------------------------------------------------------

/// "minmax" | "percentile" | "mse".
/// calibrateSteps on v shaped [rows, n] (rows = 0: a flat vector).
Vec calibrate(const Vec& v, int64_t rows, int bits, bool isSigned, const std::string& rule,
              double percentile);
/// QuantizerImpl::calibrateFrom on a tensor of `shape` (channels > 0: per-channel).
struct CalibrateFromRun {
    Vec steps;
    bool initializedBefore = true;
    bool initializedAfter = false;
};
CalibrateFromRun calibrateQuantizerFrom(const Vec& v, const std::vector<int64_t>& shape, int bits,
                                        bool isSigned, int64_t channels, const std::string& rule,
                                        double percentile);

/// beginCalibration, one forward per batch, finishCalibration, then an eval forward of probe.
struct CalibrationRun {
    std::vector<Vec> outputs;  ///< what each forward returned while calibrating
    bool calibratingDuring = false;
    bool initializedDuring = true;
    bool calibratingAfter = true;
    bool initializedAfter = false;
    Vec steps;
    Vec probeOut;  ///< eval forward of the probe after finishing
};
CalibrationRun calibrateOverBatches(const std::vector<Vec>& batches, int bits, bool isSigned,
                                    bool reluInput, const std::string& rule, double percentile,
                                    int64_t sampleBudget, const Vec& probe);

// ---- Sharpness -----------------------------------------------------------------------------

/// L(w) = 0.5 w'Aw on a double leaf w.
struct SharpnessRun {
    double value = 0.0;
    double baseLoss = 0.0;
    double perturbedLoss = 0.0;
    Vec perturbation;
    Vec wAfter;
    bool restoredBitwise = false;
};
SharpnessRun rhoBallOnQuadratic(const std::vector<Vec>& a, const Vec& w, double rho, int steps);
SharpnessRun epsilonOnQuadratic(const std::vector<Vec>& a, const Vec& w, double eps, int steps);

}  // namespace qs::test::methods
