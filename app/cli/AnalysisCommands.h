// The analysis commands of quantscape-cli beyond sharpness: loss landscapes (CmdLandscape.cpp),
// Hessian figures and mixed-precision bit allocation (CmdHessian.cpp). Each reads its options
// from `args`, prints progress on stderr and results on stdout, and returns the exit code.
#pragma once

#include "app/cli/CliSupport.h"

namespace qs::cli {

int cmdLandscape(Args& args);
int cmdHessian(Args& args);
int cmdAllocate(Args& args);

}  // namespace qs::cli
