// quantscape-cli export: a run's (or a checkpoint file's) quantized model as a quantized
// safetensors file, an encodings JSON or ONNX with QDQ pairs (engine/export). A run's export is
// recorded in the run store as an artifact with its SHA-256.
#include "app/cli/CliSupport.h"
#include "engine/analysis/Sharpness.h"
#include "engine/export/Export.h"
#include "engine/store/RunStore.h"

#include <iostream>
#include <memory>
#include <sstream>

namespace qs::cli {

int cmdExport(Args& args) {
    int64_t runId = 0;
    std::string checkpoint, format, out, dbPath = defaultDbPath();
    while (!args.done()) {
        const std::string a = args.next();
        if (a == "--run") {
            runId = args.integer(a);
        } else if (a == "--checkpoint") {
            checkpoint = args.value(a);
        } else if (a == "--format") {
            format = args.value(a);
        } else if (a == "--out") {
            out = args.value(a);
        } else if (a == "--db") {
            dbPath = args.value(a);
        } else {
            throw UsageError("export: unknown option " + a);
        }
    }
    if ((runId > 0) == !checkpoint.empty()) {
        throw UsageError("export needs --run RUN_ID or --checkpoint FILE (one of them)");
    }
    if (!exporting::exportFormatKnown(format)) {
        throw UsageError("export: --format safetensors, encodings or onnx (got " +
                         (format.empty() ? std::string("none") : format) + ")");
    }
    if (out.empty()) {
        throw UsageError("export needs --out FILE");
    }
    exporting::ExportSummary s;
    if (runId > 0) {
        const auto store = store::RunStore::open(dbPath);
        checkpoint = analysis::runCheckpoint(*store, runId);
        s = exporting::exportRun(*store, runId, checkpoint, format, out);
    } else {
        s = exporting::exportCheckpoint(checkpoint, format, out);
    }
    std::ostringstream line;
    line << "exported " << s.format << ": " << s.path << " (" << s.bytes << " bytes";
    if (s.format == "safetensors" && s.bytes > 0) {
        line << "; float32 parameters " << s.floatBytes << " bytes, "
             << formatFixed(double(s.floatBytes) / double(s.bytes), 2) << "x smaller";
    }
    line << "; " << s.quantizedTensors
         << (s.format == "safetensors" ? " quantized weights"
             : s.format == "onnx"      ? " QDQ pairs"
                                       : " encodings")
         << ")\nsha256 " << s.sha256 << "\n";
    std::cout << line.str();
    return 0;
}

}  // namespace qs::cli
