// Batches and throttles the events of one job before they reach observers (STYLE.md 3: at most
// one batch per interval; progress coalesced to its latest value). Internal; worker thread only.
#pragma once

#include "engine/session/Events.h"

#include <chrono>
#include <functional>

namespace qs::session {

class EventSink {
public:
    using Deliver = std::function<void(const EventBatch&)>;
    EventSink(int64_t runId, double intervalSeconds, Deliver deliver)
        : m_interval(intervalSeconds), m_deliver(std::move(deliver)) {
        m_batch.runId = runId;
    }

    /// Queues an event; delivers the batch when the interval has passed since the last one.
    void post(Event event) {
        if (std::holds_alternative<Progress>(event)) {
            // Only the newest progress matters; moving it to the end keeps the batch in order.
            if (m_progressIndex >= 0) {
                m_batch.events.erase(m_batch.events.begin() + m_progressIndex);
            }
            m_progressIndex = int64_t(m_batch.events.size());
        }
        m_batch.events.push_back(std::move(event));
        const auto now = std::chrono::steady_clock::now();
        if (std::chrono::duration<double>(now - m_last).count() >= m_interval) {
            flush();
        }
    }

    /// Delivers whatever is queued now (phase changes, pause, the end).
    void flush() {
        m_last = std::chrono::steady_clock::now();
        if (m_batch.events.empty()) {
            return;
        }
        m_deliver(m_batch);
        m_batch.events.clear();
        m_progressIndex = -1;
    }

    int64_t runId() const { return m_batch.runId; }

private:
    double m_interval;
    Deliver m_deliver;
    EventBatch m_batch;
    int64_t m_progressIndex = -1;
    std::chrono::steady_clock::time_point m_last = std::chrono::steady_clock::now();
};

}  // namespace qs::session
