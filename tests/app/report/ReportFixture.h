// A tiny finished quantized run, its float parent and an orphan quantized run, written straight
// into a temporary run store through RunStore's API, for the report tests (library and CLI).
// Qt-free and torch-free.
#pragma once

#include <cstdint>
#include <string>

namespace qs::test {

struct ReportFixture {
    std::string dbPath;
    int64_t floatRun = 0;    ///< "tiny-float": fp, eval/acc 0.9037, a checkpoint folder
    int64_t quantRun = 0;    ///< "tiny-lsq-w3a3": starts from the float run's last.safetensors
    int64_t orphanRun = 0;   ///< "orphan-lsq": init_checkpoint outside every run, no export
    std::string exportPath;  ///< the quantized run's safetensors artifact (kExportBytes bytes)
    std::string exportSha256;
    std::string encodingsPath;  ///< artifact whose file changed after its export
    std::string onnxPath;       ///< artifact whose file is gone
};

/// Size of the fake safetensors export; with the Hessian layers' 3,376 parameters the float
/// size is 13,504 bytes, so the compression ratio reads "13.50x".
inline constexpr int64_t kExportBytes = 1000;

/// Builds the store and files under `dir` (which must exist). Throws on failure.
ReportFixture writeReportFixture(const std::string& dir);

}  // namespace qs::test
