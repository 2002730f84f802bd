#include "engine/session/RunRecorder.h"

#include <algorithm>
#include <cmath>

namespace qs::session {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

/// Removes up to `count` elements from the front of `rows`; returns how many it removed.
template <class T>
size_t dropFront(std::vector<T>& rows, size_t count) {
    const size_t n = std::min(count, rows.size());
    rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
}

}  // namespace

void RunRecorder::onEvents(const EventBatch& batch) {
    const Finished* finished = nullptr;
    for (const Event& event : batch.events) {
        std::visit(Overloaded{
                       [&](const StepMetrics& m) {
                           for (const auto& [key, value] : m.values) {
                               // The store refuses an empty key; one bad row must not hold
                               // back every later batch.
                               if (!key.empty()) {
                                   m_metrics.push_back({m.step, key, value});
                               }
                           }
                       },
                       [&](const EpochEval& e) {
                           m_metrics.push_back({e.step, "eval/loss", e.loss});
                           if (std::isfinite(e.accuracy)) {
                               m_metrics.push_back({e.step, "eval/acc", e.accuracy});
                           }
                           for (const auto& [name, value] : e.metrics) {
                               m_metrics.push_back({e.step, "eval/" + name, value});
                           }
                           m_metrics.push_back({e.step, "epoch", double(e.epoch)});
                       },
                       [&](const LayerStates& s) {
                           for (const LayerState& l : s.layers) {
                               m_layers.push_back({s.step, l.layer, l.weightBits, l.actBits,
                                                   l.weightSteps, l.actStep, l.weightError,
                                                   l.actError, l.weightClipRate, l.actClipRate});
                           }
                       },
                       // Only transitions into and out of a pause change the stored status.
                       [&](const Progress& p) { m_phase = p.phase; },
                       [&](const Finished& f) { finished = &f; },
                       [](const LogLine&) {},
                       [](const WeightHistogram&) {},  // a view, not part of the record
                       [&](const LandscapeSnapshot& l) {
                           m_landscapes.push_back(l.surface);
                           m_landscapes.back().runId = m_runId;
                       },
                   },
                   event);
    }
    if (finished != nullptr) {
        finish(*finished);
        return;
    }
    if (m_error && std::chrono::steady_clock::now() - m_failedAt < m_retryInterval) {
        dropOldestBeyondLimit();
        return;  // queued for the next attempt
    }
    writeQueued();
}

void RunRecorder::writeQueued() {
    try {
        // Each kind is cleared only once its transaction committed: a failed one is retried
        // whole, and rows are replaced by (run, step, key), so nothing is doubled.
        if (!m_metrics.empty()) {
            m_store.appendMetrics(m_runId, m_metrics);
            m_metrics.clear();
        }
        if (!m_layers.empty()) {
            m_store.appendLayerStates(m_runId, m_layers);
            m_layers.clear();
        }
        while (!m_landscapes.empty()) {
            m_store.addLandscape(m_landscapes.front());
            m_landscapes.erase(m_landscapes.begin());
        }
        const bool paused = m_phase == "paused";
        if (paused != m_storedPaused) {
            m_store.setStatus(m_runId, paused ? store::status::kPaused : store::status::kRunning);
            m_storedPaused = paused;
        }
        m_error.reset();
    } catch (const store::StoreError& e) {
        m_error = e;
        m_failedAt = std::chrono::steady_clock::now();
        dropOldestBeyondLimit();
        throw;
    }
}

void RunRecorder::dropOldestBeyondLimit() {
    if (queuedRows() <= kMaxQueuedRows) {
        return;
    }
    const size_t excess = queuedRows() - kMaxQueuedRows;
    // Metrics are the many small rows; layer states and landscapes go only when they must.
    size_t dropped = dropFront(m_metrics, excess);
    dropped += dropFront(m_layers, excess - dropped);
    dropped += dropFront(m_landscapes, excess - dropped);
    m_droppedRows += dropped;
}

void RunRecorder::finish(const Finished& finished) {
    std::optional<store::StoreError> failure;
    try {
        writeQueued();
    } catch (const store::StoreError& e) {
        failure = e;
    }
    if (!failure && isComplete()) {
        if (!finished.finalMetrics.empty()) {
            m_store.setFinalMetrics(m_runId, finished.finalMetrics);
        }
        m_store.setStatus(m_runId, finished.status, finished.error);
        return;
    }
    // The stored run misses part of what happened: it ends as failed, saying why and how the
    // job itself ended, so that nobody takes it for a complete record.
    std::string error = "run " + std::to_string(m_runId) + " could not be recorded completely: ";
    error += failure ? std::string(failure->what())
                     : m_store.path() + ": " + std::to_string(m_droppedRows) +
                           " rows were dropped while the run store kept failing";
    error += " (the job itself ended as " + finished.status +
             (finished.error.empty() ? std::string() : ": " + finished.error) + ")";
    try {
        if (!failure && !finished.finalMetrics.empty()) {
            m_store.setFinalMetrics(m_runId, finished.finalMetrics);
        }
        m_store.setStatus(m_runId, store::status::kFailed, error);
    } catch (const store::StoreError&) {
        // The store takes nothing now; report the write that failed first. The run keeps its
        // stored status until the store is opened after this process ended, which marks it
        // interrupted.
        if (failure) {
            throw *failure;
        }
        throw;
    }
    throw store::StoreError(error, failure ? failure->kind() : store::StoreError::Kind::Other);
}

}  // namespace qs::session
