// What the widgets need from the engine, as a Qt interface: specs as JSON, runs and their data
// as ViewData values, live updates as signals (already coalesced to at most ~20 a second).
// The real implementation (app/bridge/EngineBackend) wraps a Session and the run store; tests
// may substitute a fake. Keeps widgets/ free of engine headers (DESIGN.md layering).
#pragma once

#include "visualization/ViewData.h"

#include <QJsonObject>
#include <QObject>
#include <QStringList>

namespace qs::ui {

/// A spec the engine refuses: the dotted field ("optim.lr", empty for the whole document) and
/// the engine's own message ("optim.lr: must be in (0, 10] (got -1)").
struct SpecProblem {
    QString field;
    QString message;
    bool ok() const { return message.isEmpty(); }
};

struct PresetInfo {
    QString name;
    QString description;
};

class RunBackend : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~RunBackend() override = default;

    // --- specs ---
    virtual QVector<PresetInfo> presets() const = 0;
    /// The preset's complete spec (every field present).
    virtual QJsonObject presetSpec(const QString& name) const = 0;
    /// Validates exactly as the engine will when the run starts.
    virtual SpecProblem validate(const QJsonObject& spec) const = 0;
    /// The full spec after the engine's parsing: every field present, canonical values.
    virtual QJsonObject normalized(const QJsonObject& spec) const = 0;
    /// The quantizable layers of the spec's model in forward order ("conv1", ..., "fc"), with
    /// their weight shapes and the bits the spec's policy gives them (for the layer table).
    virtual QVector<LayerRow> plannedLayers(const QJsonObject& spec) const = 0;
    /// Dataset/checkpoint paths of the spec that do not exist, as "field: path" lines.
    virtual QStringList missingPaths(const QJsonObject& spec) const = 0;

    // --- the job ---
    /// Starts a run; returns its id, or 0 with *error set (invalid spec, store problem, busy).
    virtual qint64 startRun(const QJsonObject& spec, QString* error) = 0;
    virtual void pauseRun() = 0;
    virtual void resumeRun() = 0;
    virtual void cancelRun() = 0;
    virtual bool isRunning() const = 0;
    virtual bool isPaused() const = 0;
    /// Asks the running job for the weight histogram of a layer (answered by histogramUpdated).
    virtual void requestHistogram(const QString& layer) = 0;

    // --- the run store ---
    virtual QString storePath() const = 0;
    virtual QVector<RunSummary> listRuns() const = 0;
    virtual RunData loadRun(qint64 runId) const = 0;
    virtual bool renameRun(qint64 runId, const QString& name, QString* error) = 0;
    virtual bool deleteRun(qint64 runId, QString* error) = 0;
    /// Measures the sharpness of a stored run's last checkpoint (rho-ball and epsilon, in the
    /// modes its method has) on a worker thread and records the figures in the store. Returns
    /// false with *error set when it cannot start (no such run, a run or another analysis in
    /// progress); otherwise analysisProgress follows, then sharpnessMeasured or analysisFailed.
    virtual bool measureSharpness(qint64 runId, QString* error) = 0;
    /// True from a successful measureSharpness() until its sharpnessMeasured/analysisFailed.
    virtual bool isAnalysing() const = 0;
    /// Library versions for the About dialog: "Qt", "LibTorch", "SQLite", "Quantscape" (the
    /// dialog adds VTK itself: the views, not the engine, link it).
    virtual QMap<QString, QString> versions() const = 0;

Q_SIGNALS:
    void runStarted(qint64 runId, const QJsonObject& spec);
    void metricsAppended(qint64 runId, const QVector<qs::ui::MetricPoint>& points);
    void layerStatesUpdated(const qs::ui::LayerSnapshot& snapshot);
    void histogramUpdated(const qs::ui::WeightHistogram& histogram);
    void progressChanged(const qs::ui::JobProgress& progress);
    void logAppended(const QVector<qs::ui::LogEntry>& entries);
    void runFinished(const qs::ui::RunEnd& end);
    /// An analysis' phase ("rho-ball, dequantized") and the fraction done, at most ~10 a second.
    void analysisProgress(qint64 runId, const QString& phase, double fraction);
    /// The figures an analysis measured (already recorded in the store, and among the run's
    /// final metrics as "sharpness/<measure>/<mode>").
    void sharpnessMeasured(qint64 runId, const QVector<qs::ui::SharpnessPoint>& figures);
    /// An analysis failed or was cancelled; the message is ready to show.
    void analysisFailed(qint64 runId, const QString& message);
    /// The set of runs in the store changed (a run started, ended, was renamed or deleted).
    void runsChanged();
};

}  // namespace qs::ui
