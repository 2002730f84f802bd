// PLACEHOLDER until the landscape engine lands (issue 5, in progress): replaced by the real
// command.
#include "app/cli/AnalysisCommands.h"

namespace qs::cli {

int cmdLandscape(Args&) {
    throw UsageError("landscape: not available in this build yet");
}

}  // namespace qs::cli
