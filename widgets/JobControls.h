// The job's actions (Run, Pause, Resume, Cancel, Add to queue, Run queue) and the queue that
// starts the next spec when a run ends. Actions are enabled from the backend's state, so they are
// right whatever started or stopped the job.
#pragma once

#include "visualization/ViewData.h"

#include <QObject>

class QAction;

namespace qs::ui {

class JobQueue;
class RunBackend;
class RunConfigPanel;

class JobControls : public QObject {
    Q_OBJECT
public:
    JobControls(RunBackend* backend, RunConfigPanel* config, QObject* parent = nullptr);

    QAction* runAction() const { return m_run; }
    QAction* pauseAction() const { return m_pause; }
    QAction* resumeAction() const { return m_resume; }
    QAction* cancelAction() const { return m_cancel; }
    QAction* addToQueueAction() const { return m_addToQueue; }
    /// Starts the queue again after a cancelled run held it.
    QAction* runQueueAction() const { return m_runQueue; }
    QList<QAction*> actions() const;
    JobQueue* queue() const { return m_queue; }
    /// True after a cancel: the queue waits until Run queue (or Add to queue) releases it.
    bool isQueueHeld() const { return m_held; }

public Q_SLOTS:
    void updateActions();
    /// Loads `spec` into the config panel and starts it the way Run does (the panel validates
    /// it and marks what is wrong); while a run is in progress it goes to the queue instead, as
    /// Add to queue would. Returns whether it started or was queued.
    bool runSpec(const QJsonObject& spec);

Q_SIGNALS:
    /// A run could not start or ended badly; the text names the run and the reason.
    void errorOccurred(const QString& message);
    /// A line for the log ("Run 12 started from the queue").
    void messageLogged(qs::ui::LogEntry::Level level, const QString& text);

private:
    void onRun();
    void onPause();
    void onResume();
    void onCancel();
    void onAddToQueue();
    void onRunQueue();
    void onRunFinished(const RunEnd& end);
    /// Starts queued specs until one starts or the queue is empty; true when one started.
    bool startNextQueued();
    qint64 start(const QJsonObject& spec, const QString& origin);

    RunBackend* m_backend;
    RunConfigPanel* m_config;
    JobQueue* m_queue;
    QAction* m_run;
    QAction* m_pause;
    QAction* m_resume;
    QAction* m_cancel;
    QAction* m_addToQueue;
    QAction* m_runQueue;
    bool m_held = false;
};

}  // namespace qs::ui
