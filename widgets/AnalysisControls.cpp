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
    connect(backend, &RunBackend::analysisFailed, this, &AnalysisControls::onFailed);
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

bool AnalysisControls::measureSharpness(qint64 runId) {
    if (runId == 0) {
        return false;
    }
    QString error;
    if (!m_backend->measureSharpness(runId, &error)) {
        Q_EMIT errorOccurred(
            tr("Could not measure the sharpness of run %1: %2").arg(runId).arg(error));
        updateActions();
        return false;
    }
    Q_EMIT messageLogged(LogEntry::Info, tr("Measuring the sharpness of run %1").arg(runId));
    Q_EMIT statusMessage(tr("Measuring the sharpness of run %1…").arg(runId), 0);
    Q_EMIT analysisStarted(runId);
    updateActions();
    return true;
}

void AnalysisControls::updateActions() {
    const bool ended =
        m_data->runId() != 0 && !m_data->isLive() && canMeasure(m_data->data().summary.status);
    m_measureSharpness->setEnabled(ended && !m_backend->isAnalysing() && !m_backend->isRunning());
}

void AnalysisControls::onProgress(qint64 runId, const QString& phase, double fraction) {
    Q_EMIT statusMessage(tr("Measuring the sharpness of run %1: %2 · %3 %")
                             .arg(runId)
                             .arg(phase)
                             .arg(QLocale().toString(100.0 * fraction, 'f', 0)),
                         0);
}

void AnalysisControls::onMeasured(qint64 runId, const QVector<SharpnessPoint>& figures) {
    const QString text = tr("Sharpness of run %1 measured: %2")
                             .arg(runId)
                             .arg(countNoun(figures.size(), tr("figure"), tr("figures")));
    Q_EMIT statusMessage(text, 8000);
    Q_EMIT messageLogged(LogEntry::Info, text);
    updateActions();
}

void AnalysisControls::onFailed(qint64, const QString& message) {
    Q_EMIT statusMessage(QString(), 0);
    Q_EMIT errorOccurred(message);
    updateActions();
}

}  // namespace qs::ui
