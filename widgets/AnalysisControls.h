// The analysis actions on stored runs ("Measure sharpness" for the shown run) and the reporting of
// analyses the backend runs on its worker thread: progress as status text, failures as errors,
// results as a log line. The run browser asks for a run of its own choosing through
// measureSharpness(runId).
#pragma once

#include "visualization/ViewData.h"

#include <QObject>

class QAction;

namespace qs::ui {

class ActiveRunData;
class RunBackend;

class AnalysisControls : public QObject {
    Q_OBJECT
public:
    AnalysisControls(RunBackend* backend, ActiveRunData* data, QObject* parent = nullptr);

    /// Measures the sharpness of the shown run; enabled for a run that has ended and while no
    /// analysis runs.
    QAction* measureSharpnessAction() const { return m_measureSharpness; }
    /// Whether a run with this status has a checkpoint worth measuring (it ended).
    static bool canMeasure(const QString& status);

public Q_SLOTS:
    /// Starts the sharpness analysis of a run; a refusal comes back as errorOccurred.
    bool measureSharpness(qint64 runId);
    void updateActions();

Q_SIGNALS:
    /// An analysis could not start or failed; the text names the run and the reason.
    void errorOccurred(const QString& message);
    /// A transient line for the status bar ("Measuring sharpness of run 3: rho-ball, ... 40 %").
    void statusMessage(const QString& text, int timeoutMs);
    /// A line for the log.
    void messageLogged(qs::ui::LogEntry::Level level, const QString& text);
    /// An analysis of the run started (the views may switch to where its figures appear).
    void analysisStarted(qint64 runId);

private:
    void onProgress(qint64 runId, const QString& phase, double fraction);
    void onMeasured(qint64 runId, const QVector<SharpnessPoint>& figures);
    void onFailed(qint64 runId, const QString& message);

    RunBackend* m_backend;
    ActiveRunData* m_data;
    QAction* m_measureSharpness;
};

}  // namespace qs::ui
