#include "widgets/JobControls.h"

#include "widgets/Icons.h"
#include "widgets/JobQueue.h"
#include "widgets/RunBackend.h"
#include "widgets/RunConfigPanel.h"
#include "widgets/TextFormat.h"

#include <QJsonObject>

#include <QAction>

namespace qs::ui {

JobControls::JobControls(RunBackend* backend, RunConfigPanel* config, QObject* parent)
    : QObject(parent), m_backend(backend), m_config(config), m_queue(new JobQueue(this)) {
    m_run = new QAction(Icons::icon(Icons::Run), tr("&Run"), this);
    m_run->setObjectName(QStringLiteral("actionRun"));
    m_run->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_run->setToolTip(tr("Start a run with the current spec (Ctrl+R)"));
    m_pause = new QAction(Icons::icon(Icons::Pause), tr("&Pause"), this);
    m_pause->setObjectName(QStringLiteral("actionPause"));
    m_pause->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    m_pause->setToolTip(tr("Pause after the current step (Ctrl+P)"));
    m_resume = new QAction(Icons::icon(Icons::Resume), tr("Re&sume"), this);
    m_resume->setObjectName(QStringLiteral("actionResume"));
    m_resume->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    m_resume->setToolTip(tr("Resume the paused run (Ctrl+Shift+P)"));
    m_cancel = new QAction(Icons::icon(Icons::Cancel), tr("&Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("actionCancel"));
    m_cancel->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    m_cancel->setToolTip(
        tr("Stop the run after the current step; what was recorded is kept "
           "(Ctrl+.)"));
    m_addToQueue = new QAction(Icons::icon(Icons::QueueAdd), tr("Add to &queue"), this);
    m_addToQueue->setObjectName(QStringLiteral("actionAddToQueue"));
    m_addToQueue->setToolTip(tr("Run the current spec when the engine is free"));
    m_runQueue = new QAction(Icons::icon(Icons::Run), tr("Run queue"), this);
    m_runQueue->setObjectName(QStringLiteral("actionRunQueue"));
    m_runQueue->setToolTip(tr("Start the queued specs (held after a cancel)"));

    connect(m_run, &QAction::triggered, this, &JobControls::onRun);
    connect(m_pause, &QAction::triggered, this, &JobControls::onPause);
    connect(m_resume, &QAction::triggered, this, &JobControls::onResume);
    connect(m_cancel, &QAction::triggered, this, &JobControls::onCancel);
    connect(m_addToQueue, &QAction::triggered, this, &JobControls::onAddToQueue);
    connect(m_runQueue, &QAction::triggered, this, &JobControls::onRunQueue);

    connect(backend, &RunBackend::runStarted, this, &JobControls::updateActions);
    connect(backend, &RunBackend::progressChanged, this, &JobControls::updateActions);
    connect(backend, &RunBackend::runFinished, this, &JobControls::onRunFinished);
    connect(config, &RunConfigPanel::specChanged, this, &JobControls::updateActions);
    connect(m_queue, &JobQueue::changed, this, &JobControls::updateActions);
    updateActions();
}

QList<QAction*> JobControls::actions() const {
    return {m_run, m_pause, m_resume, m_cancel, m_addToQueue};
}

void JobControls::updateActions() {
    const bool running = m_backend->isRunning();
    const bool paused = running && m_backend->isPaused();
    const bool valid = m_config->isValid();
    m_run->setEnabled(!running && valid);
    m_pause->setEnabled(running && !paused);
    m_resume->setEnabled(paused);
    m_cancel->setEnabled(running);
    m_addToQueue->setEnabled(valid);
    m_runQueue->setEnabled(!running && !m_queue->isEmpty());
}

qint64 JobControls::start(const QJsonObject& spec, const QString& origin) {
    QString error;
    const qint64 id = m_backend->startRun(spec, &error);
    if (id == 0) {
        Q_EMIT errorOccurred(tr("Could not start \"%1\"%2: %3")
                                 .arg(spec.value(QStringLiteral("name")).toString(), origin,
                                      error.isEmpty() ? tr("unknown error") : error));
    } else {
        Q_EMIT messageLogged(LogEntry::Info,
                             tr("Run %1 \"%2\" started%3")
                                 .arg(id)
                                 .arg(spec.value(QStringLiteral("name")).toString(), origin));
    }
    updateActions();
    return id;
}

void JobControls::onRun() {
    if (m_backend->isRunning() || !m_config->checkBeforeRun()) {
        updateActions();
        return;
    }
    start(m_config->spec(), QString());
}

bool JobControls::runSpec(const QJsonObject& spec) {
    m_config->setSpec(spec);
    const QString name = m_config->spec().value(QStringLiteral("name")).toString();
    if (!m_config->checkBeforeRun()) {
        const SpecProblem problem = m_config->problem();
        Q_EMIT errorOccurred(
            tr("Could not start \"%1\": %2")
                .arg(name, problem.ok() ? m_config->missingPaths().join(QStringLiteral("; "))
                                        : problem.message));
        updateActions();
        return false;
    }
    if (m_backend->isRunning()) {
        const int before = m_queue->count();
        onAddToQueue();
        return m_queue->count() > before;
    }
    onRun();
    return m_backend->isRunning();
}

void JobControls::onPause() {
    m_backend->pauseRun();
    updateActions();
}

void JobControls::onResume() {
    m_backend->resumeRun();
    updateActions();
}

void JobControls::onCancel() {
    m_backend->cancelRun();
    updateActions();
}

void JobControls::onAddToQueue() {
    if (!m_config->checkBeforeRun()) {
        return;
    }
    m_queue->add(m_config->spec());
    Q_EMIT messageLogged(LogEntry::Info,
                         tr("Queued \"%1\" (%2 waiting)")
                             .arg(m_config->spec().value(QStringLiteral("name")).toString())
                             .arg(m_queue->count()));
    // Adding is an explicit wish to run, so it also releases a queue held by a cancel.
    m_held = false;
    if (!m_backend->isRunning()) {
        startNextQueued();
    }
}

void JobControls::onRunQueue() {
    m_held = false;
    if (!m_backend->isRunning()) {
        startNextQueued();
    }
}

bool JobControls::startNextQueued() {
    while (!m_queue->isEmpty()) {
        const QJsonObject spec = m_queue->takeFirst();
        if (start(spec, tr(" from the queue")) != 0) {
            return true;
        }
    }
    return false;
}

void JobControls::onRunFinished(const RunEnd& end) {
    if (end.status == QLatin1String("failed")) {
        Q_EMIT errorOccurred(tr("Run %1 failed: %2")
                                 .arg(end.runId)
                                 .arg(end.error.isEmpty() ? tr("no reason given") : end.error));
    } else {
        Q_EMIT messageLogged(LogEntry::Info, tr("Run %1 %2").arg(end.runId).arg(end.status));
    }
    // A cancel means "stop": the queue waits instead of starting the next spec behind the
    // user's back. A failure is the run's own problem; the next spec is independent.
    if (end.status == QLatin1String("cancelled") && !m_queue->isEmpty()) {
        m_held = true;
        Q_EMIT messageLogged(LogEntry::Warning,
                             tr("Queue held after the cancel (%1 waiting); use Run queue to go on")
                                 .arg(m_queue->count()));
    }
    if (!m_held && !m_backend->isRunning()) {
        startNextQueued();
    }
    updateActions();
}

}  // namespace qs::ui
