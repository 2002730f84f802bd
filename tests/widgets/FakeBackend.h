// A RunBackend for widget tests: presets, validation and layer plans that behave like the
// engine's (a few of its rules, with its message format "field: problem"), an in-memory run
// store, and helpers that emit a run's signals the way the bridge does.
//
// Analyses are synthetic but consistent. A landscape is an analytic bowl
// (bowlLoss(): loss = 0.3 + a^2 + 2 b^2 for random directions) whose rows arrive from a QTimer in
// a few batches, so tests wait with QSignalSpy or QTRY_*; it is stored as it goes, can be
// cancelled (kept, "cancelled") and resumed. A Hessian report gives every layer of the run a
// trace and Omega_i(b) = trace_i * 4^-b for b in 2, 3, 4, 8; its Pareto frontier is found by
// brute force over every allocation the fake's policy allows (conv1 and fc at 8 bits, one
// bit-width per stage layer1/layer2/layer3: the residual ties), and the uniform allocations are
// among them.
#pragma once

#include "widgets/RunBackend.h"

#include <QMap>

#include <memory>

class QTemporaryDir;
class QTimer;

namespace qs::test {

class FakeBackend : public qs::ui::RunBackend {
    Q_OBJECT
public:
    explicit FakeBackend(QObject* parent = nullptr);
    ~FakeBackend() override;

    // --- RunBackend ---
    QVector<qs::ui::PresetInfo> presets() const override;
    QJsonObject presetSpec(const QString& name) const override;
    qs::ui::SpecProblem validate(const QJsonObject& spec) const override;
    QJsonObject normalized(const QJsonObject& spec) const override;
    QVector<qs::ui::LayerRow> plannedLayers(const QJsonObject& spec) const override;
    QStringList missingPaths(const QJsonObject& spec) const override;
    qint64 startRun(const QJsonObject& spec, QString* error) override;
    void pauseRun() override;
    void resumeRun() override;
    void cancelRun() override;
    bool isRunning() const override { return m_running; }
    bool isPaused() const override { return m_paused; }
    void requestHistogram(const QString& layer) override;
    QString storePath() const override { return QStringLiteral("/tmp/fake-runs.sqlite"); }
    QVector<qs::ui::RunSummary> listRuns() const override;
    qs::ui::RunData loadRun(qint64 runId) const override;
    bool renameRun(qint64 runId, const QString& name, QString* error) override;
    bool deleteRun(qint64 runId, QString* error) override;
    QMap<QString, QString> versions() const override;
    /// Answers from the event loop: two progress signals, then sharpnessMeasured with
    /// makeSharpness()'s figures (also stored with the run), or analysisFailed (failAnalysis).
    bool measureSharpness(qint64 runId, QString* error) override;
    bool isAnalysing() const override { return m_analysisRun != 0; }
    bool computeLandscape(qint64 runId, const qs::ui::LandscapeRequest& request,
                          QString* error) override;
    bool resumeLandscape(qint64 landscapeId, QString* error) override;
    QVector<qs::ui::LandscapeSurface> landscapes(qint64 runId) const override;
    bool analyzeHessian(qint64 runId, const qs::ui::HessianRequest& request,
                        QString* error) override;
    QVector<qs::ui::HessianSummary> hessianReports(qint64 runId) const override;
    qs::ui::ParetoFrontier paretoFrontier(qint64 hessianId, QString* error) const override;
    QJsonObject allocationSpec(qint64 hessianId, const QMap<QString, int>& bits,
                               QString* error) const override;
    void cancelAnalysis() override;
    /// Writes a few bytes to `path` and answers `exported` from the event loop.
    bool exportRun(qint64 runId, const QString& format, const QString& path,
                   QString* error) override;
    /// Writes a one-line HTML naming the runs (the real reports are tested in tests/app/report).
    bool writeReport(const QVector<qint64>& runIds, const QString& path, QString* error) override;

    // --- test helpers ---
    /// The complete default spec (the "smoke" preset).
    static QJsonObject defaultSpec();
    /// Adds a finished run to the store; returns its id.
    qint64 addStoredRun(qs::ui::RunData run);
    /// A realistic finished run: curves over `epochs` epochs, layer states every 100 steps.
    static qs::ui::RunData makeRun(const QString& name, const QString& method, int weightBits,
                                   int actBits, double finalAcc, int epochs = 3,
                                   const QString& status = QStringLiteral("finished"));
    /// Emits the live run's stream: metrics, layer snapshots and progress for steps
    /// [fromStep, toStep), as the bridge would in batches.
    void streamLive(qint64 fromStep, qint64 toStep);
    /// Ends the live run with a status ("finished", "failed", "cancelled").
    void finishLive(const QString& status, const QString& error = {});
    /// Canned sharpness figures: rho-ball and epsilon in the float mode, or in both quantized
    /// modes; the checkpoint's step is `step`.
    static QVector<qs::ui::SharpnessPoint> makeSharpness(bool floatModel, qint64 step);
    /// Runs whose sharpness measureSharpness accepted, in order.
    QVector<qint64> sharpnessRequests() const { return m_sharpnessRequests; }
    /// Makes the next accepted analysis end with analysisFailed(message) (once).
    void failAnalysis(const QString& message) { m_failAnalysis = message; }
    /// Makes the next measureSharpness refuse with this message (once).
    void failNextAnalysisStart(const QString& message) { m_failNextAnalysisStart = message; }
    /// A histogram of a layer shaped like latent weights under a grid of `bits`.
    static qs::ui::WeightHistogram makeHistogram(qint64 runId, qint64 step, const QString& layer,
                                                 int bits);

    // --- landscapes and Hessian reports ---
    /// The fake's landscapes: loss at (alpha, beta) for the directions ("random", "hessian",
    /// "interpolation"), with the bowl's floor and curvature (1: the computed landscapes).
    static double bowlLoss(const QString& directions, double alpha, double beta, double floor = 0.3,
                           double curvature = 1.0);
    /// Accuracy at a loss: 0.93 at the floor, falling as the loss rises.
    static double bowlAccuracy(double loss);
    /// A finished landscape of `runId` at `step` for the request, every point computed.
    static qs::ui::LandscapeSurface makeLandscape(qint64 runId, qint64 step,
                                                  const qs::ui::LandscapeRequest& request,
                                                  double floor = 0.3, double curvature = 1.0);
    /// Stores a landscape (its id is replaced by a fresh one); returns the id. For snapshots
    /// taken while a run trained: the same request at several steps.
    qint64 addStoredLandscape(qs::ui::LandscapeSurface surface);
    /// Stores a Hessian report of a stored run (makeHessian()); returns its id.
    qint64 addStoredHessian(qint64 runId);
    /// The report the fake computes for a run: every planned layer with its trace, standard
    /// error and Omega for the candidate bits.
    qs::ui::HessianSummary makeHessian(qint64 runId, const qs::ui::HessianRequest& request) const;
    /// Requests computeLandscape accepted, in order (run, request).
    QVector<QPair<qint64, qs::ui::LandscapeRequest>> landscapeRequests() const {
        return m_landscapeRequests;
    }
    /// Landscapes resumeLandscape accepted, in order.
    QVector<qint64> resumedLandscapes() const { return m_resumed; }
    /// Requests analyzeHessian accepted, in order (run, request).
    QVector<QPair<qint64, qs::ui::HessianRequest>> hessianRequests() const {
        return m_hessianRequests;
    }
    /// Rows of a landscape per batch and the time between batches (default 4 batches, 15 ms).
    void setLandscapeBatches(int batches, int intervalMs) {
        m_landscapeBatches = batches;
        m_landscapeInterval = intervalMs;
    }
    /// Makes the next paretoFrontier / allocationSpec fail with this message (once).
    void failNextFrontier(const QString& message) { m_failNextFrontier = message; }
    void failNextAllocation(const QString& message) { m_failNextAllocation = message; }
    /// The final checkpoint file of a run (created, empty, on first use so that specs naming it
    /// pass missingPaths()).
    QString checkpointPath(qint64 runId) const;

    qint64 liveRunId() const { return m_liveId; }
    /// Specs passed to startRun that started, in order.
    QVector<QJsonObject> startedSpecs() const { return m_started; }
    QStringList histogramRequests() const { return m_histogramRequests; }
    /// Makes the next startRun fail with this message (once).
    void failNextStart(const QString& message) { m_failNextStart = message; }
    /// Whether requestHistogram answers at once with histogramUpdated.
    void setAnswerHistograms(bool on) { m_answerHistograms = on; }

private:
    QMap<qint64, qs::ui::RunData> m_runs;
    qint64 m_nextId = 1;
    qint64 m_liveId = 0;
    bool m_running = false;
    bool m_paused = false;
    bool m_answerHistograms = true;
    qint64 m_liveStep = 0;
    QVector<QJsonObject> m_started;
    QStringList m_histogramRequests;
    QString m_failNextStart;
    qint64 m_analysisRun = 0;
    QVector<qint64> m_sharpnessRequests;
    QString m_failAnalysis;
    QString m_failNextAnalysisStart;

    /// Refuses an analysis the way measureSharpness does; empty when it may start.
    QString analysisRefusal(qint64 runId);
    /// Emits the next batch of the landscape being computed (the timer's slot).
    void landscapeTick();
    void startLandscapeJob(qint64 landscapeId, qint64 runId);
    /// Step of a stored run's last checkpoint (its last metric).
    qint64 lastStep(qint64 runId) const;

    QMap<qint64, qs::ui::LandscapeSurface> m_landscapes;
    qint64 m_nextLandscapeId = 1;
    qint64 m_landscapeJob = 0;                 ///< the landscape being computed
    QVector<QPair<int, int>> m_pendingPoints;  ///< its points still to compute (ix, iy)
    int m_pointsPerBatch = 1;
    int m_landscapeBatches = 4;
    int m_landscapeInterval = 15;
    QTimer* m_landscapeTimer = nullptr;
    QVector<QPair<qint64, qs::ui::LandscapeRequest>> m_landscapeRequests;
    QVector<qint64> m_resumed;
    QMap<qint64, qs::ui::HessianSummary> m_hessian;
    qint64 m_nextHessianId = 1;
    qint64 m_hessianJob = 0;  ///< run whose Hessian is being analysed (cancellable)
    QVector<QPair<qint64, qs::ui::HessianRequest>> m_hessianRequests;
    mutable QString m_failNextFrontier;
    mutable QString m_failNextAllocation;
    mutable std::unique_ptr<QTemporaryDir> m_checkpoints;  ///< created on first use
};

}  // namespace qs::test
