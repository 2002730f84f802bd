// Torch side of TestQuantizedExport (no Qt here): export a checkpoint, import the export, and
// compare the two models on a split of the checkpoint's own data.
#pragma once

#include <cstdint>
#include <string>

namespace qs::cases {

struct RoundTrip {
    double maxLogitDiff = -1.0;  ///< over every example of the test split
    double accuracy = -1.0;      ///< of the checkpoint's model
    double importedAccuracy = -1.0;
    int64_t exportBytes = 0;
    int64_t floatBytes = 0;
    int quantizedTensors = 0;
    std::string sha256;
};

/// exportQuantizedSafetensors(checkpoint, exportPath), importQuantized(exportPath), then both
/// models on up to 200 test examples.
RoundTrip exportAndImport(const std::string& checkpoint, const std::string& exportPath);

/// The message importQuantized throws for `path` (empty when it does not throw).
std::string importError(const std::string& path);

}  // namespace qs::cases
