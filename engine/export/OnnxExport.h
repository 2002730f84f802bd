// ONNX export of a checkpoint's model as the app evaluates it: every quantizer becomes a
// QuantizeLinear/DequantizeLinear pair (QDQ), so runtimes that fold QDQ into integer kernels see
// the exact codes and step sizes training learnt. Torch-free header.
#pragma once

#include <cstdint>
#include <string>

namespace qs::exporting {

struct OnnxExportSummary {
    std::string path;
    int opset = 13;
    int64_t nodes = 0;     ///< nodes of the main graph
    int64_t qdqPairs = 0;  ///< QuantizeLinear/DequantizeLinear pairs: one per quantizer
};

/// Writes the checkpoint's model as ONNX (opset 17, IR version 8), quantized as the app evaluates
/// it. Each quantizer with step s and b bits is QuantizeLinear(x, s, zero point 0 of int8 when
/// signed, uint8 when not), then for b < 8 a Clip of the integer codes to [-Qn, Qp], then
/// DequantizeLinear: round(clamp(x / s, -Qn, Qp)) s, as LSQ computes it (round half to even in
/// both). Weights are stored as float initializers under their checkpoint names
/// (layer1.0.conv1.weight) and quantized by their QDQ pair; per-channel steps quantize along
/// axis 0, group-wise (Q-BERT) steps are repeated for each row of their group. A quantizer's
/// scale and zero point are initializers named <quantizer path>.scale and .zero_point (e.g.
/// layer1.0.conv1.weight_quantizer.scale). Float layers have no QDQ.
///
/// Graph signature: ResNet takes `input` float [batch, C, height, width]; BERT takes `input_ids`,
/// `token_type_ids` and `attention_mask`, int64 [batch, sequence]. Both give `logits` float
/// [batch, classes]. BatchNorm stays an inference-mode BatchNormalization node.
///
/// Throws std::runtime_error naming the file on failure (an unreadable checkpoint, a quantizer
/// wider than 8 bits, which QuantizeLinear cannot hold before opset 21, or an unwritable output).
///
/// Example:
///   auto s = qs::exporting::exportOnnx("runs/run-3/last.safetensors", "resnet20-w4a4.onnx");
///   // s.qdqPairs == number of quantizers; s.opset == 17
OnnxExportSummary exportOnnx(const std::string& checkpoint, const std::string& outPath);

}  // namespace qs::exporting
