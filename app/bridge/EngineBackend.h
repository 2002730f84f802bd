// EngineBackend: the real qs::ui::RunBackend. Wraps one session::Session (the job), its
// SessionBridge (engine events -> queued signals) and the run store file (history). Every engine
// or store failure comes back as an error string or an empty result: nothing throws into Qt.
#pragma once

#include "app/bridge/SessionBridge.h"
#include "engine/analysis/Hessian.h"
#include "engine/analysis/Landscape.h"
#include "engine/session/Session.h"
#include "widgets/RunBackend.h"

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace qs::app {

/// Example:
///   qs::app::EngineBackend backend(dataDir + "/runs.sqlite", dataDir + "/runs");
///   QString error;
///   const qint64 id = backend.startRun(backend.presetSpec("lsq-w4a4"), &error);
///   connect(&backend, &qs::ui::RunBackend::runFinished, ...);
class EngineBackend : public ui::RunBackend {
    Q_OBJECT
public:
    /// `storePath`: the SQLite run store (created on first use). `outDir`: checkpoints go to
    /// outDir/run-<id>/.
    EngineBackend(QString storePath, QString outDir, QObject* parent = nullptr);
    /// Cancels a running job and a running analysis and waits for their workers (the store
    /// marks the job cancelled; a cancelled analysis records nothing).
    ~EngineBackend() override;

    // --- specs ---
    QVector<ui::PresetInfo> presets() const override;
    /// Empty for an unknown preset.
    QJsonObject presetSpec(const QString& name) const override;
    ui::SpecProblem validate(const QJsonObject& spec) const override;
    /// Empty for a spec the engine refuses (see validate()).
    QJsonObject normalized(const QJsonObject& spec) const override;
    /// Empty for a spec the engine refuses.
    QVector<ui::LayerRow> plannedLayers(const QJsonObject& spec) const override;
    QStringList missingPaths(const QJsonObject& spec) const override;

    // --- the job ---
    qint64 startRun(const QJsonObject& spec, QString* error) override;
    void pauseRun() override;
    void resumeRun() override;
    void cancelRun() override;
    /// True from startRun() until the run's runFinished signal has been emitted.
    bool isRunning() const override;
    bool isPaused() const override;
    void requestHistogram(const QString& layer) override;
    /// The run whose signals are streaming now; 0 when none.
    qint64 currentRunId() const { return m_currentRun; }

    // --- the run store ---
    QString storePath() const override { return m_storePath; }
    QString outDir() const { return m_outDir; }
    /// Newest first; empty when the store cannot be opened.
    QVector<ui::RunSummary> listRuns() const override;
    QString storeProblem() const override { return m_storeProblem; }
    /// Summary id 0 when the run does not exist or the store cannot be read.
    ui::RunData loadRun(qint64 runId) const override;
    bool renameRun(qint64 runId, const QString& name, QString* error) override;
    /// Refuses the run this backend is running, and runs another process is running.
    bool deleteRun(qint64 runId, QString* error) override;
    QMap<QString, QString> versions() const override;

    // --- analyses ---
    /// Refuses while a run trains in this process: both would share torch's thread pool.
    bool measureSharpness(qint64 runId, QString* error) override;
    bool isAnalysing() const override { return m_analysisRun != 0; }
    bool computeLandscape(qint64 runId, const ui::LandscapeRequest& request,
                          QString* error) override;
    bool resumeLandscape(qint64 landscapeId, QString* error) override;
    /// Empty when the store cannot be read.
    QVector<ui::LandscapeSurface> landscapes(qint64 runId) const override;
    bool analyzeHessian(qint64 runId, const ui::HessianRequest& request, QString* error) override;
    /// Empty when the store cannot be read.
    QVector<ui::HessianSummary> hessianReports(qint64 runId) const override;
    /// Solved on the calling thread: the dynamic program is plain arithmetic over a few dozen
    /// layers (milliseconds), and reading the checkpoint's spec touches no tensor.
    ui::ParetoFrontier paretoFrontier(qint64 hessianId, QString* error) const override;
    QJsonObject allocationSpec(qint64 hessianId, const QMap<QString, int>& bits,
                               QString* error) const override;
    void cancelAnalysis() override { m_analysisCancel = true; }
    bool exportRun(qint64 runId, const QString& format, const QString& path,
                   QString* error) override;
    bool writeReport(const QVector<qint64>& runIds, const QString& path, QString* error) override;

private:
    void onRunFinished(const ui::RunEnd& end);
    /// A training run stored a landscape snapshot: emits it as landscapeFinished.
    void onLandscapeSnapshot(qint64 runId);
    /// The checks every analysis makes before it starts (no other analysis, no training in this
    /// process, the run exists and has ended); returns the run's last checkpoint, or an empty
    /// string with *error set. `action` names the analysis in the messages ("measure sharpness").
    std::string analysisCheckpoint(qint64 runId, const QString& action, QString* error) const;
    /// Starts `body` on the analysis worker for `runId`.
    void startAnalysis(qint64 runId, std::function<void()> body);
    /// On the analysis worker: a progress callback that posts analysisProgress at most ~10 times
    /// a second (and always at 100%).
    analysis::AnalysisProgress progressPoster(qint64 runId);
    /// On the analysis worker: posts `message` as analysisFailed and ends the analysis.
    void postFailure(qint64 runId, const QString& message);
    /// The analysis workers' bodies: compute, record in their own store connection, and post
    /// the outcome to this object's thread.
    void runSharpnessAnalysis(qint64 runId, const std::string& checkpoint);
    void runLandscape(qint64 runId, const std::string& checkpoint,
                      const analysis::LandscapeOptions& options, qint64 resumeId);
    void runHessian(qint64 runId, const std::string& checkpoint,
                    const analysis::HessianOptions& options);
    /// On this object's thread, once the worker posted its outcome: joins it.
    void endAnalysis();

    QString m_storePath;
    QString m_outDir;
    session::Session m_session;
    /// Declared after the session, so it unsubscribes before the session cancels and joins.
    std::unique_ptr<SessionBridge> m_bridge;
    qint64 m_currentRun = 0;
    /// The run being analysed (0: none); read and written on this object's thread only.
    qint64 m_analysisRun = 0;
    std::atomic<bool> m_analysisCancel{false};
    std::thread m_analysisThread;
    mutable QString m_storeProblem;  ///< set by listRuns()
};

}  // namespace qs::app
