// Local worker processes of a data-parallel run: rank 0 (the CLI or the desktop app's engine
// thread) starts ranks 1..N-1 as `quantscape-cli train --rank R ...` and reaps them. Torch-free.
#pragma once

#include <sys/types.h>
#include <string>
#include <vector>

namespace qs::dist {

struct WorkerLaunch {
    std::string executable;  ///< quantscape-cli; empty: the one beside the running program
    std::string masterAddr = "127.0.0.1";
    int masterPort = 0;
    int worldSize = 2;
    int threadsPerProcess = 1;
    std::string
        logDir;  ///< each worker's output goes to logDir/worker-<rank>.log; empty: inherited
};

/// The quantscape-cli that starts workers: $QS_WORKER_EXECUTABLE, else quantscape-cli in the
/// running program's folder. Throws std::runtime_error when it does not exist.
std::string workerExecutable(const std::string& requested);

/// Starts ranks 1..worldSize-1; they die with the thread that started them (PR_SET_PDEATHSIG).
/// The destructor waits a little for them to end, then kills those still running.
class LocalWorkers {
public:
    explicit LocalWorkers(const WorkerLaunch& launch);
    ~LocalWorkers();
    LocalWorkers(const LocalWorkers&) = delete;
    LocalWorkers& operator=(const LocalWorkers&) = delete;

    /// Waits up to `seconds` for every worker to exit; true when all did.
    bool waitAll(double seconds);
    /// "rank 1 exited with status 1 (see /run/worker-1.log)" for each worker that failed so far;
    /// empty when none did.
    std::string failures();

private:
    void reap(bool block);
    WorkerLaunch m_launch;
    std::vector<pid_t> m_pids;
    std::vector<int> m_status;  ///< -1: running
};

}  // namespace qs::dist
