#include "engine/export/Export.h"

#include "engine/export/OnnxExport.h"
#include "engine/export/QuantizedExport.h"
#include "engine/io/Sha256.h"
#include "engine/store/RunStore.h"

#include <filesystem>
#include <stdexcept>

namespace qs::exporting {

std::vector<std::string> exportFormats() {
    return {"safetensors", "encodings", "onnx"};
}

bool exportFormatKnown(const std::string& format) {
    for (const std::string& f : exportFormats()) {
        if (f == format) {
            return true;
        }
    }
    return false;
}

ExportSummary exportCheckpoint(const std::string& checkpoint, const std::string& format,
                               const std::string& outPath) {
    if (format == "safetensors") {
        return exportQuantizedSafetensors(checkpoint, outPath);
    }
    if (format == "encodings") {
        return exportEncodings(checkpoint, outPath);
    }
    if (format == "onnx") {
        const OnnxExportSummary onnx = exportOnnx(checkpoint, outPath);
        ExportSummary s;
        s.path = onnx.path.empty() ? outPath : onnx.path;
        s.format = "onnx";
        std::error_code ec;
        s.bytes = int64_t(std::filesystem::file_size(s.path, ec));
        s.floatBytes = floatParameterBytes(checkpoint);
        s.quantizedTensors = int(onnx.qdqPairs);
        s.sha256 = io::sha256File(s.path);
        return s;
    }
    throw std::invalid_argument("unknown export format '" + format +
                                "' (safetensors, encodings or onnx)");
}

ExportSummary exportRun(store::RunStore& store, int64_t runId, const std::string& checkpoint,
                        const std::string& format, const std::string& outPath) {
    ExportSummary s = exportCheckpoint(checkpoint, format, outPath);
    store::ArtifactRow row;
    row.runId = runId;
    row.kind = format;
    row.path = std::filesystem::absolute(s.path).string();
    row.sha256 = s.sha256;
    store.addArtifact(row);
    return s;
}

}  // namespace qs::exporting
