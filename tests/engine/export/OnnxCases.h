// Torch- and protobuf-side cases for test_onnx_export: reads an exported ONNX file back with the
// ONNX protobuf classes and compares it with the checkpoint it came from, reporting plain values
// so the Qt Test file sees neither torch nor protobuf headers.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qs::test::onnx {

/// One quantizer's QDQ pair as found in the graph.
struct Pair {
    std::string zeroPointType;  ///< "int8" | "uint8" | "" when the zero point is missing
    int64_t scaleCount = 0;     ///< values in <path>.scale (0-d: 1)
    bool perAxis = false;       ///< both nodes carry axis = 0
    bool clipped = false;       ///< a Clip on the codes between the two nodes
    int64_t codeMin = 0;        ///< the Clip's bounds (clipped only)
    int64_t codeMax = 0;
    std::string quantizeInput;  ///< what QuantizeLinear quantizes (an initializer for weights)
};

struct GraphReport {
    int64_t irVersion = 0;
    int64_t opset = 0;  ///< version of the default ("") domain
    int64_t nodes = 0;
    int64_t quantizeNodes = 0;
    int64_t dequantizeNodes = 0;
    /// Quantizers of the checkpoint: its "*_quantizer.step_size" tensors.
    int64_t checkpointQuantizers = 0;
    /// Quantizers of the model loadExportModel rebuilds (models::allQuantizers).
    int64_t modelQuantizers = 0;
    std::map<std::string, Pair> pairs;  ///< by quantizer path, for every quantizer found
    /// Graph inputs and outputs as "name:type[dim,dim,...]", e.g. "input:float[batch,1,h,w]".
    std::vector<std::string> inputs;
    std::vector<std::string> outputs;
    /// Weight initializers (".weight") that some QuantizeLinear reads, and those that are read by
    /// other nodes only (float layers).
    std::vector<std::string> quantizedWeights;
    std::vector<std::string> floatWeights;
    std::map<std::string, int64_t> opCounts;  ///< nodes per op type
    /// Every disagreement between the graph and the checkpoint, one line each: a quantizer
    /// without its pair, a scale that is not its step size (repeated per row for groups), a
    /// zero point that is not 0 of the quantizer's signedness, a Clip range that is not the
    /// quantizer's [-Qn, Qp], a weight initializer that differs from the checkpoint's, a
    /// QuantizeLinear or DequantizeLinear that belongs to no quantizer.
    std::vector<std::string> problems;
};

/// Parses the ONNX file and checks it against the checkpoint. Throws std::runtime_error when the
/// file cannot be parsed.
GraphReport inspect(const std::string& onnxPath, const std::string& checkpoint);

}  // namespace qs::test::onnx
