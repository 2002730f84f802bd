// PLACEHOLDER until the Hessian engine lands (issue 5, in progress): replaced by the real commands.
#include "app/cli/AnalysisCommands.h"

namespace qs::cli {

int cmdHessian(Args&) {
    throw UsageError("hessian: not available in this build yet");
}

int cmdAllocate(Args&) {
    throw UsageError("allocate: not available in this build yet");
}

}  // namespace qs::cli
