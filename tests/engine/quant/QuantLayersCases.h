// Torch-side cases for test_quant_layers: QConv2d and QLinear run on seeded inputs and report
// plain values, so the Qt Test file never sees a torch header.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::qlayers {

enum class LayerKind { Conv, Linear };

/// One configureQuantizers call; 0 bits leaves that slot empty.
struct SlotConfig {
    int weightBits = 0;
    int actBits = 0;
    bool perChannel = false;
};

/// A layer's forward next to the reference computed from torch's own op.
struct LayerRun {
    std::vector<int64_t> shape;
    std::vector<float> layer;      ///< the layer's forward
    std::vector<float> reference;  ///< float op on (composite-quantized) input and weight
    std::vector<float> floatOp;    ///< float op on the unquantized input and weight
    bool hasWeightQuantizer = false;
    bool hasInputQuantizer = false;
    int64_t weightSteps = 0;  ///< step sizes of the weight quantizer (0: no quantizer)
    bool weightSigned = false;
    bool inputSigned = true;
    int weightBits = 0;
    int inputBits = 0;
};

/// Builds a layer (seeded), configures it, runs one forward on a seeded input with negative and
/// positive values. inputSigned is the layer option (a stem conv sees signed input).
LayerRun runLayer(LayerKind kind, const SlotConfig& config, bool inputSigned);

/// Names of the layer's parameters and buffers after each configureQuantizers call in turn.
struct Names {
    std::vector<std::string> parameters;
    std::vector<std::string> buffers;
};
std::vector<Names> namesAfter(LayerKind kind, const std::vector<SlotConfig>& configs);

/// Configures `first`, runs a forward (initialising the quantizers), then configures 0/0: the
/// next forward must equal the float op exactly. Returns {layer, float op} of that forward.
struct PairRun {
    std::vector<float> layer;
    std::vector<float> floatOp;
};
PairRun floatAfterRemoval(LayerKind kind, const SlotConfig& first);

}  // namespace qs::test::qlayers

namespace qs::test::qlayers {

/// A QConv2d with input_relu (the ReLU fused into its unsigned input quantizer) beside a plain
/// QConv2d fed relu(x), same weights: forwards and every gradient. actBits 0 = float input.
struct FusedReluRun {
    std::vector<float> fusedOut, plainOut;
    std::vector<float> fusedInputGrad, plainInputGrad;
    std::vector<float> fusedStepGrad, plainStepGrad;  ///< input step size (empty for float)
    double fusedInitStep = 0.0, plainInitStep = 0.0;  ///< LSQ init from the first batch
};
FusedReluRun runFusedRelu(int actBits);

}  // namespace qs::test::qlayers
