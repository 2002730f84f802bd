// SessionBridge: the one adapter from the engine's observer interface into Qt (STYLE.md 2).
// Engine events arrive on the worker thread, are merged into a pending batch under a mutex, and
// leave on the GUI thread as a few signals: per flush at most one of each kind per run, and
// flushes at least kMinFlushIntervalMs apart, whatever rate the engine produces events at.
#pragma once

#include "engine/session/Events.h"
#include "engine/session/Session.h"
#include "visualization/ViewData.h"

#include <QElapsedTimer>
#include <QObject>
#include <QVector>

#include <mutex>
#include <optional>
#include <vector>

namespace qs::app {

/// Registers the ViewData value types (and their vectors) with Qt's meta-type system, for
/// queued connections and QSignalSpy. Idempotent and thread-safe.
void registerViewMetaTypes();

/// Example:
///   qs::session::Session session;
///   qs::app::SessionBridge bridge(session);   // lives on the GUI thread
///   connect(&bridge, &SessionBridge::metricsAppended, chart, &Chart::append);
///   session.start(spec, options);              // events reach the chart on the GUI thread
class SessionBridge : public QObject, public session::Observer {
    Q_OBJECT
public:
    /// Flushes are at least this far apart, so the GUI sees at most ~20 updates a second.
    static constexpr int kMinFlushIntervalMs = 50;

    /// Not subscribed to anything: onEvents() may be called directly (tests, replay).
    explicit SessionBridge(QObject* parent = nullptr);
    /// Subscribes to the session; the subscription ends with the bridge (or detach()).
    explicit SessionBridge(session::Session& session, QObject* parent = nullptr);
    ~SessionBridge() override;

    /// Subscribes to `session`, ending any previous subscription.
    void attach(session::Session& session);
    /// Ends the subscription; once it returns, onEvents() is no longer called by the session.
    void detach();

    /// Any thread (the engine's worker): converts and merges, never blocks on the GUI thread.
    void onEvents(const session::EventBatch& batch) override;

Q_SIGNALS:
    /// Every metric point since the last flush, in the order the engine sent them.
    void metricsAppended(qint64 runId, const QVector<qs::ui::MetricPoint>& points);
    /// Every layer-state snapshot since the last flush (they are few), ordered by step.
    void layerStatesUpdated(const QVector<qs::ui::LayerSnapshot>& snapshots);
    /// The newest histogram since the last flush.
    void histogramUpdated(const qs::ui::WeightHistogram& histogram);
    /// The newest progress since the last flush.
    void progressChanged(const qs::ui::JobProgress& progress);
    void logAppended(const QVector<qs::ui::LogEntry>& entries);
    /// The run took a landscape snapshot (ALGORITHMS.md section 7), which its recorder stores.
    void landscapeSnapshotTaken(qint64 runId);
    /// The run ended; emitted after that run's last data signals.
    void runFinished(const qs::ui::RunEnd& end);

private:
    /// What arrived for one run since the last flush. A new run id starts a new chunk, so a
    /// run that starts before the previous one's last flush never mixes with it.
    struct Pending {
        int64_t runId = 0;
        QVector<ui::MetricPoint> metrics;
        QVector<ui::LayerSnapshot> layerSnapshots;
        std::optional<ui::WeightHistogram> histogram;
        std::optional<ui::JobProgress> progress;
        QVector<ui::LogEntry> logs;
        bool landscapeSnapshot = false;
        std::optional<ui::RunEnd> end;
    };

    /// Flushes now, or arms one timer for when kMinFlushIntervalMs has passed since the last.
    void flushWhenDue();
    void flush();

    session::Subscription m_subscription;
    std::mutex m_mutex;  ///< guards m_pending and m_flushScheduled
    std::vector<Pending> m_pending;
    bool m_flushScheduled = false;
    QElapsedTimer m_sinceFlush;  ///< since the end of the last flush; GUI thread only
    bool m_timerArmed = false;   ///< a deferred flushWhenDue() is pending; GUI thread only
};

}  // namespace qs::app
