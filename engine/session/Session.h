// Session: runs one job (training a RunSpec) on its own worker thread, with pause, resume and
// cancel, and delivers batched events to observers. The recorder that writes the run store is
// attached by the Session itself.
#pragma once

#include "engine/session/Events.h"
#include "engine/session/RunSpec.h"
#include "engine/store/RunStore.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qs::session {

/// How a run with distributed.processes > 1 brings up its other processes (rank 0 is this one).
struct DistributedLaunch {
    /// quantscape-cli for the local workers; empty: $QS_WORKER_EXECUTABLE, else the one beside
    /// the running program
    std::string workerExecutable;
    std::string masterAddr = "127.0.0.1";  ///< where rank 0 listens (this host's address)
    int masterPort = 0;                    ///< 0: a free port
    bool startLocalWorkers = true;         ///< false: ranks 1.. are started by hand on other hosts
};

struct SessionOptions {
    std::string dbPath;          ///< run store file; empty = do not record
    std::string outDir = ".";    ///< checkpoints go to outDir/run-<id>/ (or run-<name> without db)
    double eventInterval = 0.1;  ///< seconds between event batches
    int threads = -1;            ///< >= 0: overrides the spec's thread count (0 = all cores)
    DistributedLaunch distributed;
    store::RunStoreOptions store;  ///< busy timeout; a size cap for tests
};

class Session;

/// A checkpoint field's value with a "run:NAME" reference replaced by the last.safetensors of
/// the newest finished run of that name in the store; other values come back unchanged. Throws
/// SpecError naming `field` when no such run exists.
std::string resolveCheckpointReference(const store::RunStore& store, const std::string& value,
                                       const std::string& field);

/// RAII subscription: unsubscribes when destroyed, whichever side goes first.
class Subscription {
public:
    Subscription() = default;
    ~Subscription();
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    void reset();

private:
    friend class Session;
    struct Hub;
    Subscription(std::shared_ptr<Hub> hub, int id) : m_hub(std::move(hub)), m_id(id) {}
    std::weak_ptr<Hub> m_hub;
    int m_id = 0;
};

/// Example:
///   qs::session::Session session;
///   auto sub = session.subscribe(myObserver);
///   session.start(RunSpec::fromJson(text), {.dbPath = "runs.sqlite"});
///   session.wait();
class Session {
public:
    Session();
    /// Cancels a running job and joins the worker.
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    /// The observer must outlive the subscription token.
    Subscription subscribe(Observer* observer);

    /// Validates the spec, creates the run in the store, and starts the worker. Returns the run
    /// id (0 without a store). Throws SpecError, StoreError, or std::logic_error when a job is
    /// already running.
    int64_t start(const RunSpec& spec, const SessionOptions& options);
    /// Continues an interrupted, failed or cancelled run from its last epoch checkpoint, with
    /// the spec recorded in the store (options.dbPath is required). Rows recorded after that
    /// checkpoint are dropped so the run's history has no duplicate steps.
    void resumeRun(int64_t runId, const SessionOptions& options);

    void pause();
    void resume();
    void cancel();
    bool isRunning() const;
    /// From now on the job streams a WeightHistogram of this layer's weights every few steps
    /// (and once at once); an empty name stops it. Unknown layers are ignored.
    void requestHistogram(const std::string& layer);
    bool isPaused() const;
    /// Blocks until the worker has ended; returns its Finished event.
    Finished wait();

    /// Control block the worker polls; public for the trainer, not for callers.
    struct Control {
        std::atomic<bool> cancel{false};
        std::atomic<bool> paused{false};
        std::mutex mutex;
        std::condition_variable resumed;
        /// Blocks while paused; returns false when cancelled.
        bool checkpoint();
        /// The layer whose weight histogram is streamed (guarded by mutex) and a flag set when
        /// it changes, so the worker answers a new request at the next step.
        std::string histogramLayer;
        std::atomic<bool> histogramRequested{false};
    };

private:
    void launch(RunSpec spec, SessionOptions options, int64_t runId, bool resuming);

    std::shared_ptr<Subscription::Hub> m_hub;
    std::shared_ptr<Control> m_control;
    std::thread m_worker;
    std::mutex m_histogramMutex;
    std::string m_histogramLayer;
    std::atomic<bool> m_running{false};
    Finished m_finished;
};

}  // namespace qs::session
