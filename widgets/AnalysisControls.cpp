#include "widgets/AnalysisControls.h"

#include "widgets/ActiveRunData.h"
#include "widgets/RunBackend.h"
#include "widgets/TextFormat.h"

#include <QAction>
#include <QLocale>

namespace qs::ui {

AnalysisControls::AnalysisControls(RunBackend* backend, ActiveRunData* data, QObject* parent)
    : QObject(parent),
      m_backend(backend),
      m_data(data),
      m_measureSharpness(new QAction(tr("Measure &sharpness"), this)) {
    m_measureSharpness->setObjectName(QStringLiteral("actionMeasureSharpness"));
    m_measureSharpness->setToolTip(
        tr("Measure the rho-ball and epsilon sharpness of the shown run's last checkpoint "
           "(about a minute on a small model); the figures are kept with the run"));
    connect(m_measureSharpness, &QAction::triggered, this,
            [this] { measureSharpness(m_data->runId()); });
    connect(backend, &RunBackend::analysisProgress, this, &AnalysisControls::onProgress);
    connect(backend, &RunBackend::sharpnessMeasured, this, &AnalysisControls::onMeasured);
    connect(backend, &RunBackend::landscapeFinished, this, &AnalysisControls::onLandscapeFinished);
    connect(backend, &RunBackend::hessianAnalyzed, this, &AnalysisControls::onHessianAnalyzed);
    connect(backend, &RunBackend::analysisFailed, this, &AnalysisControls::onFailed);
    connect(backend, &RunBackend::exported, this, &AnalysisControls::onExported);
    connect(backend, &RunBackend::runStarted, this, &AnalysisControls::updateActions);
    connect(backend, &RunBackend::runFinished, this, &AnalysisControls::updateActions);
    connect(data, &ActiveRunData::reset, this, &AnalysisControls::updateActions);
    connect(data, &ActiveRunData::statusChanged, this, &AnalysisControls::updateActions);
    updateActions();
}

bool AnalysisControls::canMeasure(const QString& status) {
    return status == QLatin1String("finished") || status == QLatin1String("cancelled") ||
           status == QLatin1String("interrupted");
}

QString AnalysisControls::blockReason(qint64 runId, const QString& status, bool live) const {
    if (runId == 0) {
        return tr("Open a run first: analyses use a run's last checkpoint.");
    }
    if (live) {
        return tr("Run %1 is training; analyse it after it ends.").arg(runId);
    }
    if (m_backend->isRunning()) {
        return tr("A run is training; analyses wait until it ends.");
    }
    if (m_backend->isAnalysing()) {
        return tr("Another analysis is in progress; wait for it to end or cancel it.");
    }
    if (!canMeasure(status)) {
        return tr("Run %1 %2 without a final checkpoint to analyse.")
            .arg(runId)
            .arg(status.isEmpty() ? tr("ended") : status);
    }
    return {};
}

bool AnalysisControls::startAnalysis(Kind kind, qint64 runId, const QString& what,
                                     const std::function<bool(QString*)>& start) {
    if (runId == 0) {
        return false;
    }
    QString error;
    if (!start(&error)) {
        Q_EMIT errorOccurred(tr("Could not %1 of run %2: %3").arg(what).arg(runId).arg(error));
        updateActions();
        return false;
    }
    m_kind = kind;
    m_runId = runId;
    Q_EMIT analysisStarted(runId);
    updateActions();
    return true;
}

bool AnalysisControls::measureSharpness(qint64 runId) {
    const bool started =
        startAnalysis(Kind::Sharpness, runId, tr("measure the sharpness"),
                      [&](QString* error) { return m_backend->measureSharpness(runId, error); });
    if (started) {
        Q_EMIT messageLogged(LogEntry::Info, tr("Measuring the sharpness of run %1").arg(runId));
        Q_EMIT statusMessage(tr("Measuring the sharpness of run %1…").arg(runId), 0);
    }
    return started;
}

bool AnalysisControls::computeLandscape(qint64 runId, const LandscapeRequest& request) {
    const bool started = startAnalysis(
        Kind::Landscape, runId, tr("compute the landscape"),
        [&](QString* error) { return m_backend->computeLandscape(runId, request, error); });
    if (started) {
        const QString grid = request.directions == QLatin1String("interpolation")
                                 ? countNoun(request.nx, tr("point"), tr("points"))
                                 : QStringLiteral("%1×%2").arg(request.nx).arg(request.ny);
        Q_EMIT messageLogged(LogEntry::Info,
                             tr("Computing a landscape of run %1: %2 directions, %3")
                                 .arg(runId)
                                 .arg(request.directions, grid));
        Q_EMIT statusMessage(tr("Computing a landscape of run %1…").arg(runId), 0);
    }
    return started;
}

bool AnalysisControls::resumeLandscape(qint64 runId, qint64 landscapeId) {
    const bool started = startAnalysis(
        Kind::Landscape, runId, tr("resume landscape %1").arg(landscapeId),
        [&](QString* error) { return m_backend->resumeLandscape(landscapeId, error); });
    if (started) {
        Q_EMIT messageLogged(LogEntry::Info,
                             tr("Resuming landscape %1 of run %2").arg(landscapeId).arg(runId));
        Q_EMIT statusMessage(tr("Computing a landscape of run %1…").arg(runId), 0);
    }
    return started;
}

bool AnalysisControls::analyzeHessian(qint64 runId, const HessianRequest& request) {
    const bool started = startAnalysis(
        Kind::Hessian, runId, tr("analyse the Hessian"),
        [&](QString* error) { return m_backend->analyzeHessian(runId, request, error); });
    if (started) {
        Q_EMIT messageLogged(LogEntry::Info, tr("Analysing the Hessian of run %1").arg(runId));
        Q_EMIT statusMessage(tr("Analysing the Hessian of run %1…").arg(runId), 0);
    }
    return started;
}

bool AnalysisControls::exportRun(qint64 runId, const QString& format, const QString& path) {
    const bool started = startAnalysis(Kind::Export, runId, tr("export it"), [&](QString* error) {
        return m_backend->exportRun(runId, format, path, error);
    });
    if (started) {
        Q_EMIT messageLogged(LogEntry::Info,
                             tr("Exporting run %1 as %2 to %3").arg(runId).arg(format, path));
        Q_EMIT statusMessage(tr("Exporting run %1…").arg(runId), 0);
    }
    return started;
}

bool AnalysisControls::writeReport(const QVector<qint64>& runIds, const QString& path) {
    QStringList ids;
    for (qint64 id : runIds) {
        ids << QString::number(id);
    }
    const QString runs = ids.join(QStringLiteral(", "));
    Q_EMIT statusMessage(tr("Writing the report of run %1…").arg(runs), 0);
    QString error;
    if (!m_backend->writeReport(runIds, path, &error)) {
        Q_EMIT errorOccurred(tr("Cannot write the report of run %1: %2").arg(runs, error));
        Q_EMIT statusMessage(QString(), 1);
        return false;
    }
    const QString text = tr("Report of run %1 written: %2").arg(runs, path);
    Q_EMIT messageLogged(LogEntry::Info, text);
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT resultReady(text, path);
    return true;
}

void AnalysisControls::cancelAnalysis() {
    if (!m_backend->isAnalysing()) {
        return;
    }
    // Before the call: the backend may report the end from inside it.
    Q_EMIT statusMessage(tr("Cancelling the analysis…"), 0);
    m_backend->cancelAnalysis();
}

void AnalysisControls::updateActions() {
    const qint64 runId = m_data->runId();
    m_measureSharpness->setEnabled(
        runId != 0 &&
        blockReason(runId, m_data->data().summary.status, m_data->isLive()).isEmpty());
    Q_EMIT stateChanged();
}

void AnalysisControls::finishAnalysis() {
    m_kind = Kind::None;
    m_runId = 0;
    updateActions();
}

void AnalysisControls::onProgress(qint64 runId, const QString& phase, double fraction) {
    const QString percent = QLocale().toString(100.0 * fraction, 'f', 0);
    QString text;
    switch (m_kind) {
        case Kind::Landscape:
            text = tr("Computing a landscape of run %1: %2 · %3 %");
            break;
        case Kind::Hessian:
            text = tr("Analysing the Hessian of run %1: %2 · %3 %");
            break;
        case Kind::Sharpness:
            text = tr("Measuring the sharpness of run %1: %2 · %3 %");
            break;
        case Kind::Export:
            text = tr("Exporting run %1: %2 · %3 %");
            break;
        case Kind::None:
            text = tr("Analysing run %1: %2 · %3 %");
            break;
    }
    Q_EMIT statusMessage(text.arg(runId).arg(phase).arg(percent), 0);
}

void AnalysisControls::onMeasured(qint64 runId, const QVector<SharpnessPoint>& figures) {
    const QString text = tr("Sharpness of run %1 measured: %2")
                             .arg(runId)
                             .arg(countNoun(figures.size(), tr("figure"), tr("figures")));
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT messageLogged(LogEntry::Info, text);
    finishAnalysis();
}

void AnalysisControls::onLandscapeFinished(const LandscapeSurface& surface) {
    // Training runs send their landscape snapshots through the same signal: only the end of
    // the landscape started here is an analysis ending.
    if (m_kind != Kind::Landscape || surface.runId != m_runId) {
        return;
    }
    const int points = surface.nx * surface.ny;
    const QString text = surface.status == QLatin1String("finished")
                             ? tr("Landscape of run %1 computed: %2")
                                   .arg(surface.runId)
                                   .arg(countNoun(points, tr("point"), tr("points")))
                             : tr("Landscape of run %1 %2 at %3 of %4 points; Resume continues it")
                                   .arg(surface.runId)
                                   .arg(surface.status)
                                   .arg(surface.finishedCount())
                                   .arg(points);
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT messageLogged(LogEntry::Info, text);
    finishAnalysis();
}

void AnalysisControls::onHessianAnalyzed(const HessianSummary& summary) {
    if (m_kind != Kind::Hessian) {
        return;
    }
    const QString top = summary.eigenvalues.isEmpty()
                            ? QString()
                            : tr(", top eigenvalue %1")
                                  .arg(QLocale().toString(summary.eigenvalues.first(), 'g', 4));
    const QString text = tr("Hessian of run %1 analysed: %2%3")
                             .arg(summary.runId)
                             .arg(countNoun(summary.layers.size(), tr("layer"), tr("layers")))
                             .arg(top);
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT messageLogged(LogEntry::Info, text);
    finishAnalysis();
}

void AnalysisControls::onExported(qint64 runId, const QString& format, const QString& path,
                                  qint64 bytes, const QString& sha256) {
    if (m_kind != Kind::Export) {
        return;
    }
    const QString text =
        tr("Run %1 exported as %2: %3 (%4, SHA-256 %5…)")
            .arg(runId)
            .arg(format, path, QLocale().formattedDataSize(bytes), sha256.left(12));
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT messageLogged(LogEntry::Info, text);
    Q_EMIT resultReady(text, path);
    finishAnalysis();
}

void AnalysisControls::onFailed(qint64, const QString& message) {
    Q_EMIT statusMessage(QString(), 0);
    Q_EMIT errorOccurred(message);
    finishAnalysis();
}

}  // namespace qs::ui
