// One process of a data-parallel run other than rank 0: `quantscape-cli train --rank R
// --world-size W --master-addr A --master-port P`. Qt-free and torch-free.
#pragma once

#include "engine/session/Events.h"

#include <functional>
#include <string>

namespace qs::session {

struct WorkerOptions {
    int rank = 1;
    int worldSize = 2;
    std::string masterAddr = "127.0.0.1";
    int masterPort = 29500;
    int threads = 0;              ///< 0: all cores
    double connectTimeoutS = 60;  ///< how long to keep trying to reach rank 0
};

/// Connects to rank 0, takes the run's spec from it, trains this process's share of every batch
/// and records nothing (rank 0 writes the run store and the checkpoints). Log lines go to `log`.
/// Never throws: a failure comes back as a Finished with status "failed" and the error.
Finished runWorker(const WorkerOptions& options, const std::function<void(const LogLine&)>& log);

}  // namespace qs::session
