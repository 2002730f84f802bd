// The analysis actions on stored runs ("Measure sharpness" for the shown run; landscapes and
// Hessian analyses with the parameters the dashboard's panels collect) and the reporting of
// analyses the backend runs on its worker thread: progress as status text, failures as errors,
// results as a log line. Every analysis starts here, so what runs now (and its progress text) is
// known in one place. The run browser asks for a run of its own choosing through
// measureSharpness(runId).
#pragma once

#include "visualization/ViewData.h"
#include "widgets/RunBackend.h"

#include <QObject>

#include <functional>

class QAction;

namespace qs::ui {

class ActiveRunData;

class AnalysisControls : public QObject {
    Q_OBJECT
public:
    /// What the analysis in progress computes.
    enum class Kind { None, Sharpness, Landscape, Hessian, Export };

    AnalysisControls(RunBackend* backend, ActiveRunData* data, QObject* parent = nullptr);

    /// Measures the sharpness of the shown run; enabled for a run that has ended and while no
    /// analysis runs.
    QAction* measureSharpnessAction() const { return m_measureSharpness; }
    /// Whether a run with this status has a checkpoint worth measuring (it ended).
    static bool canMeasure(const QString& status);
    /// Why an analysis of run `runId` (with that status, live or not) cannot start now, as a
    /// sentence for a tooltip; empty when it can.
    QString blockReason(qint64 runId, const QString& status, bool live) const;

    /// The analysis started here that is in progress (None when none is, or when one was
    /// started elsewhere).
    Kind currentKind() const { return m_kind; }
    /// The run it analyses; 0 when none.
    qint64 currentRun() const { return m_kind == Kind::None ? 0 : m_runId; }

public Q_SLOTS:
    /// Starts the sharpness analysis of a run; a refusal comes back as errorOccurred.
    bool measureSharpness(qint64 runId);
    /// Starts a landscape of a run's last checkpoint; a refusal comes back as errorOccurred.
    bool computeLandscape(qint64 runId, const qs::ui::LandscapeRequest& request);
    /// Continues an unfinished stored landscape of a run.
    bool resumeLandscape(qint64 runId, qint64 landscapeId);
    /// Starts the Hessian analysis of a run's last checkpoint.
    bool analyzeHessian(qint64 runId, const qs::ui::HessianRequest& request);
    /// Exports a run's last checkpoint ("safetensors", "encodings" or "onnx") to `path` on the
    /// analysis worker; the end comes back as resultReady or errorOccurred.
    bool exportRun(qint64 runId, const QString& format, const QString& path);
    /// Writes the report of one run or the comparison of several to `path` (.html or .pdf);
    /// resultReady on success, errorOccurred otherwise.
    bool writeReport(const QVector<qint64>& runIds, const QString& path);
    /// Asks the analysis in progress to stop (a landscape keeps its points, resumable).
    void cancelAnalysis();
    void updateActions();

Q_SIGNALS:
    /// An analysis could not start or failed; the text names the run and the reason.
    void errorOccurred(const QString& message);
    /// A transient line for the status bar ("Measuring sharpness of run 3: rho-ball, ... 40 %").
    void statusMessage(const QString& text, int timeoutMs);
    /// A line for the log.
    void messageLogged(qs::ui::LogEntry::Level level, const QString& text);
    /// A file was written for the user (an export or a report): what it is, and where.
    void resultReady(const QString& text, const QString& path);
    /// An analysis of the run started (the views may switch to where its figures appear).
    void analysisStarted(qint64 runId);
    /// Whether an analysis may start changed (one started or ended, a run started or ended):
    /// views with their own start buttons update them.
    void stateChanged();

private:
    /// Calls `start` (a backend call taking the error text); reports a refusal naming `what`.
    bool startAnalysis(Kind kind, qint64 runId, const QString& what,
                       const std::function<bool(QString*)>& start);
    void finishAnalysis();
    void onProgress(qint64 runId, const QString& phase, double fraction);
    void onMeasured(qint64 runId, const QVector<SharpnessPoint>& figures);
    void onLandscapeFinished(const LandscapeSurface& surface);
    void onHessianAnalyzed(const HessianSummary& summary);
    void onExported(qint64 runId, const QString& format, const QString& path, qint64 bytes,
                    const QString& sha256);
    void onFailed(qint64 runId, const QString& message);

    RunBackend* m_backend;
    ActiveRunData* m_data;
    QAction* m_measureSharpness;
    Kind m_kind = Kind::None;
    qint64 m_runId = 0;
};

}  // namespace qs::ui
