#include "QuantizedExportCases.h"

#include "engine/analysis/AnalysisModel.h"
#include "engine/data/Datasets.h"
#include "engine/export/QuantizedExport.h"
#include "engine/train/Trainer.h"

#include <torch/torch.h>

#include <stdexcept>

namespace qs::cases {

RoundTrip exportAndImport(const std::string& checkpoint, const std::string& exportPath) {
    const exporting::ExportSummary summary =
        exporting::exportQuantizedSafetensors(checkpoint, exportPath);
    exporting::ExportModel original = exporting::loadExportModel(checkpoint);
    exporting::ExportModel imported = exporting::importQuantized(exportPath);
    const analysis::CheckpointSpec cs = analysis::readCheckpointSpec(checkpoint, {});
    const data::TensorSet test = analysis::analysisSubset(cs, false, 200, 5);
    RoundTrip r;
    {
        torch::NoGradGuard noGrad;
        const torch::Tensor x = data::inputBatch(test, 0, test.size());
        r.maxLogitDiff =
            (original.model->forward(x) - imported.model->forward(x)).abs().max().item<double>();
    }
    r.accuracy = train::evaluate(*original.model, test, 64).accuracy;
    r.importedAccuracy = train::evaluate(*imported.model, test, 64).accuracy;
    r.exportBytes = summary.bytes;
    r.floatBytes = summary.floatBytes;
    r.quantizedTensors = summary.quantizedTensors;
    r.sha256 = summary.sha256;
    return r;
}

std::string importError(const std::string& path) {
    try {
        exporting::importQuantized(path);
    } catch (const std::exception& e) {
        return e.what();
    }
    return {};
}

}  // namespace qs::cases
