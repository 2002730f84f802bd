// Quantized exports of a checkpoint, what users take away from the app:
//  - a quantized safetensors file: each quantized weight as packed integer codes with its step
//    sizes, zero points and bit-width; activation step sizes; every other tensor in float; the
//    run spec, versions and per-layer table in the header metadata (format
//    "quantscape-quantized-1", laid out in README "Formats");
//  - an encodings JSON in AIMET's per-tensor bitwidth/scale/offset/min/max layout, which
//    hardware toolchains consume.
// And the way back: importing the quantized file rebuilds the model the app evaluated.
// Internal header (torch).
#pragma once

#include "engine/export/Export.h"
#include "engine/export/ExportModel.h"

#include <cstdint>
#include <string>

namespace qs::exporting {

inline constexpr const char* kQuantizedFormat = "quantscape-quantized-1";

/// Writes the quantized safetensors file of a checkpoint (atomic: a temporary file, renamed).
/// A float checkpoint is written all float (no codes). Throws std::runtime_error naming the file.
ExportSummary exportQuantizedSafetensors(const std::string& checkpoint, const std::string& outPath);

/// Writes the encodings JSON of a quantized checkpoint: "param_encodings" (one entry per output
/// row for per-channel and group-wise weights) and "activation_encodings" keyed by the tensor
/// names the quantized safetensors file uses (`<layer>.weight`, `<layer>.input`, BERT's
/// `<attention>.self.q` ...). Throws std::runtime_error for a float checkpoint.
ExportSummary exportEncodings(const std::string& checkpoint, const std::string& outPath);

/// Reads a quantized safetensors file back: the model rebuilt from its spec, weights set to the
/// dequantized codes (code x step) and every step size restored, eval mode, so its logits are
/// the exported model's. Throws std::runtime_error naming the file and the tensor for a file that
/// is not such an export, is truncated or corrupt, or holds codes that do not fit their shapes.
ExportModel importQuantized(const std::string& path);

/// Float32 bytes of a checkpoint's model parameters (quantizer tensors excluded).
int64_t floatParameterBytes(const std::string& checkpoint);

}  // namespace qs::exporting
