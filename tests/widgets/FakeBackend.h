// A RunBackend for widget tests: presets, validation and layer plans that behave like the
// engine's (a few of its rules, with its message format "field: problem"), an in-memory run
// store, and helpers that emit a run's signals the way the bridge does.
#pragma once

#include "widgets/RunBackend.h"

#include <QMap>

namespace qs::test {

class FakeBackend : public qs::ui::RunBackend {
    Q_OBJECT
public:
    explicit FakeBackend(QObject* parent = nullptr);

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
};

}  // namespace qs::test
