// What the app exports from a checkpoint, behind one torch-free entry point for the CLI and the
// GUI bridge: the quantized safetensors file, the encodings JSON and ONNX (QDQ). README
// "Formats" documents each.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::store {
class RunStore;
}

namespace qs::exporting {

/// What an export wrote.
struct ExportSummary {
    std::string path;
    std::string format;  ///< "safetensors" | "encodings" | "onnx"
    int64_t bytes = 0;   ///< size of the written file
    /// Float32 bytes of the model's parameters (what an unquantized export would weigh).
    int64_t floatBytes = 0;
    int quantizedTensors = 0;  ///< weight codes, encodings or QDQ pairs written
    std::string sha256;
};

/// The formats exportCheckpoint knows: safetensors, encodings, onnx.
std::vector<std::string> exportFormats();
bool exportFormatKnown(const std::string& format);

/// Exports a checkpoint in `format`. Throws std::invalid_argument for an unknown format and
/// std::runtime_error naming the file for anything else.
ExportSummary exportCheckpoint(const std::string& checkpoint, const std::string& format,
                               const std::string& outPath);

/// exportCheckpoint, then records the file as an artifact of run `runId` (kind = the format)
/// with its SHA-256.
ExportSummary exportRun(store::RunStore& store, int64_t runId, const std::string& checkpoint,
                        const std::string& format, const std::string& outPath);

}  // namespace qs::exporting
