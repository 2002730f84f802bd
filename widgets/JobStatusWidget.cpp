#include "widgets/JobStatusWidget.h"

#include "widgets/RunBackend.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>

#include <cmath>

namespace qs::ui {

JobStatusWidget::JobStatusWidget(RunBackend* backend, QWidget* parent)
    : QWidget(parent), m_phase(new QLabel), m_bar(new QProgressBar), m_eta(new QLabel) {
    setObjectName(QStringLiteral("JobStatusWidget"));
    m_bar->setObjectName(QStringLiteral("jobProgress"));
    m_bar->setRange(0, 1000);
    m_bar->setValue(0);
    m_bar->setTextVisible(true);
    m_bar->setFixedWidth(180);
    m_bar->setMaximumHeight(m_bar->fontMetrics().height() + 4);
    m_eta->setMinimumWidth(m_eta->fontMetrics().horizontalAdvance(QStringLiteral("ETA 00:00:00")));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 4, 0);
    layout->setSpacing(8);
    layout->addWidget(m_phase);
    layout->addWidget(m_bar);
    layout->addWidget(m_eta);
    m_phase->setText(tr("Idle"));
    m_bar->hide();

    connect(backend, &RunBackend::progressChanged, this, &JobStatusWidget::setProgress);
    connect(backend, &RunBackend::runStarted, this,
            [this](qint64 runId, const QJsonObject&) { onRunStarted(runId); });
    connect(backend, &RunBackend::runFinished, this, &JobStatusWidget::onRunFinished);
}

QString JobStatusWidget::statusText() const {
    return m_eta->text().isEmpty() ? m_phase->text()
                                   : m_phase->text() + QStringLiteral(" · ") + m_eta->text();
}

QString JobStatusWidget::durationText(double seconds) {
    if (!(seconds >= 0.0) || !std::isfinite(seconds)) {
        return {};
    }
    const qint64 s = qint64(std::llround(seconds));
    if (s >= 3600) {
        return QStringLiteral("%1:%2:%3")
            .arg(s / 3600)
            .arg((s / 60) % 60, 2, 10, QLatin1Char('0'))
            .arg(s % 60, 2, 10, QLatin1Char('0'));
    }
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

void JobStatusWidget::setProgress(const JobProgress& p) {
    m_bar->show();
    QString phase = p.phase.isEmpty() ? tr("running") : p.phase;
    phase[0] = phase[0].toUpper();
    QStringList parts{phase};
    if (p.totalEpochs > 0) {
        parts << tr("epoch %1/%2").arg(std::min(p.epoch + 1, p.totalEpochs)).arg(p.totalEpochs);
    }
    if (p.totalSteps > 0) {
        parts << tr("step %1/%2").arg(p.step).arg(p.totalSteps);
        m_bar->setValue(
            int(std::clamp(1000.0 * double(p.step) / double(p.totalSteps), 0.0, 1000.0)));
        m_bar->setFormat(QStringLiteral("%p%"));
    } else {
        m_bar->setValue(0);
    }
    m_phase->setText(parts.join(QStringLiteral(" · ")));
    const QString eta = durationText(p.etaSeconds);
    m_eta->setText(eta.isEmpty() ? tr("elapsed %1").arg(durationText(p.elapsedSeconds))
                                 : tr("ETA %1").arg(eta));
}

void JobStatusWidget::onRunStarted(qint64 runId) {
    m_phase->setText(tr("Run %1 starting…").arg(runId));
    m_bar->setValue(0);
    m_bar->show();
    m_eta->clear();
}

void JobStatusWidget::onRunFinished(const RunEnd& end) {
    m_phase->setText(tr("Run %1 %2").arg(end.runId).arg(end.status));
    if (end.status == QLatin1String("finished")) {
        m_bar->setValue(m_bar->maximum());
    }
    m_bar->hide();
    const auto acc = end.finalMetrics.find(QStringLiteral("eval/acc"));
    m_eta->setText(acc == end.finalMetrics.end()
                       ? QString()
                       : tr("eval acc %1 %").arg(100.0 * acc.value(), 0, 'f', 2));
}

}  // namespace qs::ui
