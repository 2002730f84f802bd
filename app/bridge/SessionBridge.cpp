#include "app/bridge/SessionBridge.h"

#include "app/bridge/ViewConvert.h"

#include <QMetaObject>
#include <QMetaType>
#include <QTimer>

#include <mutex>
#include <type_traits>
#include <variant>

namespace qs::app {

void registerViewMetaTypes() {
    static std::once_flag once;
    std::call_once(once, [] {
        qRegisterMetaType<ui::MetricPoint>();
        qRegisterMetaType<QVector<ui::MetricPoint>>();
        qRegisterMetaType<ui::LayerSnapshot>();
        qRegisterMetaType<QVector<ui::LayerSnapshot>>();
        qRegisterMetaType<ui::WeightHistogram>();
        qRegisterMetaType<ui::JobProgress>();
        qRegisterMetaType<ui::LogEntry>();
        qRegisterMetaType<QVector<ui::LogEntry>>();
        qRegisterMetaType<ui::RunEnd>();
        qRegisterMetaType<ui::RunSummary>();
        qRegisterMetaType<QVector<ui::RunSummary>>();
        qRegisterMetaType<ui::SharpnessPoint>();
        qRegisterMetaType<QVector<ui::SharpnessPoint>>();
        qRegisterMetaType<ui::LandscapeSurface>();
        qRegisterMetaType<ui::LandscapePoints>();
        qRegisterMetaType<ui::HessianSummary>();
        qRegisterMetaType<ui::ParetoFrontier>();
    });
}

SessionBridge::SessionBridge(QObject* parent) : QObject(parent) {
    registerViewMetaTypes();
}

SessionBridge::SessionBridge(session::Session& session, QObject* parent) : SessionBridge(parent) {
    attach(session);
}

SessionBridge::~SessionBridge() {
    // Unsubscribe before any member goes: the worker may be inside onEvents() right now, and
    // reset() waits for that delivery to end.
    detach();
}

void SessionBridge::attach(session::Session& session) {
    m_subscription = session.subscribe(this);
}

void SessionBridge::detach() {
    m_subscription.reset();
}

void SessionBridge::onEvents(const session::EventBatch& batch) {
    // Convert outside the lock: the GUI thread only ever waits for a swap of the pending data.
    Pending in;
    in.runId = batch.runId;
    for (const session::Event& event : batch.events) {
        std::visit(
            [&](const auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, session::StepMetrics> ||
                              std::is_same_v<T, session::EpochEval>) {
                    appendMetricPoints(e, in.metrics);
                } else if constexpr (std::is_same_v<T, session::LayerStates>) {
                    in.layerSnapshots.append(toLayerSnapshot(batch.runId, e));
                } else if constexpr (std::is_same_v<T, session::WeightHistogram>) {
                    in.histogram = toWeightHistogram(batch.runId, e);
                } else if constexpr (std::is_same_v<T, session::Progress>) {
                    in.progress = toJobProgress(batch.runId, e);
                } else if constexpr (std::is_same_v<T, session::LogLine>) {
                    in.logs.append(toLogEntry(e));
                } else if constexpr (std::is_same_v<T, session::LandscapeSnapshot>) {
                    in.landscapeSnapshot = true;
                } else if constexpr (std::is_same_v<T, session::Finished>) {
                    in.end = toRunEnd(e);
                    if (in.end->runId == 0) {
                        in.end->runId = batch.runId;
                    }
                }
            },
            event);
    }

    bool schedule = false;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_pending.empty() || m_pending.back().runId != in.runId) {
            m_pending.push_back(std::move(in));
        } else {
            Pending& p = m_pending.back();
            p.metrics += in.metrics;
            p.layerSnapshots += in.layerSnapshots;
            if (in.histogram) {
                p.histogram = std::move(in.histogram);
            }
            if (in.progress) {
                p.progress = std::move(in.progress);
            }
            p.logs += in.logs;
            p.landscapeSnapshot = p.landscapeSnapshot || in.landscapeSnapshot;
            if (in.end) {
                p.end = std::move(in.end);
            }
        }
        schedule = !m_flushScheduled;
        m_flushScheduled = true;
    }
    if (schedule) {
        // Thread boundary: this runs on the engine's worker thread, the flush and every signal
        // must run on the bridge's (GUI) thread, so the call is queued to the bridge's event loop.
        QMetaObject::invokeMethod(this, &SessionBridge::flushWhenDue, Qt::QueuedConnection);
    }
}

void SessionBridge::flushWhenDue() {
    if (m_sinceFlush.isValid()) {
        const qint64 sinceNs = m_sinceFlush.nsecsElapsed();
        const qint64 minNs = qint64(kMinFlushIntervalMs) * 1000000;
        if (sinceNs < minNs) {
            if (!m_timerArmed) {
                // Round up, and use a precise timer: a coarse one may fire up to 5% early.
                const int waitMs = int((minNs - sinceNs + 999999) / 1000000);
                m_timerArmed = true;
                QTimer::singleShot(waitMs, Qt::PreciseTimer, this, [this] {
                    m_timerArmed = false;
                    flushWhenDue();
                });
            }
            return;
        }
    }
    flush();
}

void SessionBridge::flush() {
    std::vector<Pending> chunks;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        chunks.swap(m_pending);
        // Events arriving from now on schedule a new flush (spaced by flushWhenDue()).
        m_flushScheduled = false;
    }
    for (const Pending& p : chunks) {
        if (!p.metrics.isEmpty()) {
            Q_EMIT metricsAppended(p.runId, p.metrics);
        }
        if (!p.layerSnapshots.isEmpty()) {
            Q_EMIT layerStatesUpdated(p.layerSnapshots);
        }
        if (p.histogram) {
            Q_EMIT histogramUpdated(*p.histogram);
        }
        if (p.progress) {
            Q_EMIT progressChanged(*p.progress);
        }
        if (!p.logs.isEmpty()) {
            Q_EMIT logAppended(p.logs);
        }
        if (p.landscapeSnapshot) {
            Q_EMIT landscapeSnapshotTaken(p.runId);
        }
        if (p.end) {
            Q_EMIT runFinished(*p.end);
        }
    }
    // Measured from the end of the emissions: slow slots do not eat into the spacing.
    if (!chunks.empty()) {
        m_sinceFlush.start();
    }
}

}  // namespace qs::app
