// The observer that records a run's events in the run store (one transaction per batch).
#pragma once

#include "engine/session/Events.h"
#include "engine/store/RunStore.h"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace qs::session {

/// Writes each batch's metrics, layer states, landscapes and status changes to the store.
///
/// A write that fails (another process holding the store's lock past the busy timeout, a
/// read-only store, a full disk) throws the store's StoreError out of onEvents, so the caller
/// can report it; nothing recorded before is touched. What that batch held stays queued and is
/// written with a later batch, so a store that was busy for a while loses nothing; after a
/// failure, batches only queue until `retryInterval` has passed, so a store that keeps failing
/// neither stalls training on every batch (a busy wait lasts the whole timeout) nor floods the
/// log. Past kMaxQueuedRows queued rows the oldest are dropped and the run is no longer
/// complete. At Finished the recorder tries once more; if rows are still unwritten the run is
/// recorded as failed with the store's message instead of the status the job ended with.
class RunRecorder : public Observer {
public:
    static constexpr std::chrono::milliseconds kDefaultRetryInterval{10000};
    static constexpr size_t kMaxQueuedRows = 100000;

    RunRecorder(store::RunStore& store, int64_t runId,
                std::chrono::milliseconds retryInterval = kDefaultRetryInterval)
        : m_store(store), m_runId(runId), m_retryInterval(retryInterval) {}
    /// Throws store::StoreError when the store refuses a write (see the class comment).
    void onEvents(const EventBatch& batch) override;

    /// True while rows wait for a write that failed.
    bool isFailing() const { return m_error.has_value(); }
    /// The last failed write's error; nullopt once a later write succeeded.
    const std::optional<store::StoreError>& lastError() const { return m_error; }
    /// False once rows had to be dropped: the stored run misses some of its history.
    bool isComplete() const { return m_droppedRows == 0; }

private:
    /// Writes what is queued; returns normally when everything was written.
    void writeQueued();
    void dropOldestBeyondLimit();
    void finish(const Finished& finished);
    size_t queuedRows() const { return m_metrics.size() + m_layers.size() + m_landscapes.size(); }

    store::RunStore& m_store;
    int64_t m_runId;
    std::chrono::milliseconds m_retryInterval;
    std::string m_phase;
    bool m_storedPaused = false;  ///< what the stored status says
    std::vector<store::MetricRow> m_metrics;
    std::vector<store::LayerStateRow> m_layers;
    std::vector<store::LandscapeRow> m_landscapes;
    std::optional<store::StoreError> m_error;
    std::chrono::steady_clock::time_point m_failedAt;
    size_t m_droppedRows = 0;
};

}  // namespace qs::session
