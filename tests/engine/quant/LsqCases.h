// Torch-side cases for test_lsq: the LSQ function and the Quantizer module run on plain vectors
// and return plain values, so the Qt Test file never sees a torch header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::lsq {

/// One LSQ forward + backward.
struct LsqRun {
    std::vector<float> values;     ///< v_hat, flattened
    std::vector<float> inputGrad;  ///< dL/dv for L = sum(v_hat * gradOut)
    std::vector<float> stepGrad;   ///< dL/ds, one entry per step size
    std::vector<int64_t> stepGradShape;
};

/// What to quantize. steps.size() == 1: per-tensor; otherwise one step per slice along dim 0.
struct LsqInput {
    std::vector<float> v;
    std::vector<int64_t> shape;
    std::vector<float> steps;
    int bits = 4;
    bool isSigned = true;
    double gradScale = 1.0;
    std::vector<float> gradOut;  ///< upstream gradient; empty means all ones
    bool reluReference = false;  ///< statistics against max(v, 0) (a fused ReLU)
};

/// The fused autograd function (lsqQuantize).
LsqRun runFused(const LsqInput& in);
/// The composite reference (lsqQuantizeComposite).
LsqRun runComposite(const LsqInput& in);

/// The message of the error lsqQuantize raises for `in` (without torch's backtrace); empty when
/// it accepts the input.
std::string errorOf(const LsqInput& in);

/// QuantRange::of as plain numbers.
struct Range {
    double qn = 0.0;
    double qp = 0.0;
};
Range rangeOf(int bits, bool isSigned);

/// The statistics the fused forward gathers, and its values.
struct StatsRun {
    std::vector<float> values;
    double sumSquaredError = 0.0;
    int64_t clipped = 0;
    int64_t count = 0;
};
StatsRun runWithStats(const LsqInput& in);

/// The fused per-tensor step gradient of a seeded random tensor, computed once per thread count.
struct ThreadRun {
    int threadsBefore = 0;
    int threadsRestored = 0;
    std::vector<int> threadsUsed;     ///< as reported by applyThreadCount
    std::vector<float> stepGrad;      ///< one per thread count
    bool valuesIdentical = false;     ///< forward outputs bit-identical across thread counts
    bool inputGradIdentical = false;  ///< input gradients bit-identical across thread counts
    double referenceStepGrad = 0.0;   ///< the same sum in double precision
};
ThreadRun stepGradAcrossThreads(int64_t numel, const std::vector<int>& threadCounts);

/// The Quantizer module before and after its first forward.
struct QuantizerRun {
    bool initializedBefore = true;
    bool initializedAfter = false;
    float initializedBuffer = -1.f;     ///< the "initialized" buffer's value after the forward
    bool hasInitializedBuffer = false;  ///< "initialized" is among named_buffers()
    bool stepIsParameter = false;       ///< "step_size" is among named_parameters()
    std::vector<int64_t> stepShape;
    std::vector<float> stepsBefore;
    std::vector<float> stepsAfterFirst;
    std::vector<float> stepsAfterSecond;  ///< a second forward on other data must not re-init
    std::vector<float> values;            ///< output of the first forward
    std::vector<float> expectedValues;    ///< composite LSQ with the initialised steps
    std::vector<float> stepGrad;          ///< d sum(output) / d step through the module
    std::vector<float> stepGradUnscaled;  ///< the same through lsqQuantize with g = 1
    // state() after the first forward
    int stateBits = 0;
    bool stateSigned = false;
    std::vector<double> stateSteps;
    double stateZeroPoint = -1.0;
    double stateError = -1.0;
    double stateClipRate = -1.0;
};
/// channels > 0 makes the quantizer per-channel; observe switches setObserving on.
QuantizerRun runQuantizer(const std::vector<float>& v, const std::vector<int64_t>& shape,
                          const std::vector<float>& second, int bits, bool isSigned,
                          int64_t channels, bool observe);

}  // namespace qs::test::lsq
