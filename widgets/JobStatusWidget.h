// The status bar's job readout: phase, epoch and step, a progress bar, elapsed time and ETA.
#pragma once

#include "visualization/ViewData.h"

#include <QWidget>

class QLabel;
class QProgressBar;

namespace qs::ui {

class RunBackend;

class JobStatusWidget : public QWidget {
    Q_OBJECT
public:
    explicit JobStatusWidget(RunBackend* backend, QWidget* parent = nullptr);

    QProgressBar* progressBar() const { return m_bar; }
    /// The text beside the bar ("training · epoch 2/3 · ETA 1:05").
    QString statusText() const;

    /// "1:05", "1:02:03"; empty for negative values.
    static QString durationText(double seconds);

public Q_SLOTS:
    void setProgress(const qs::ui::JobProgress& progress);

private:
    void onRunStarted(qint64 runId);
    void onRunFinished(const RunEnd& end);

    QLabel* m_phase;
    QProgressBar* m_bar;
    QLabel* m_eta;
};

}  // namespace qs::ui
