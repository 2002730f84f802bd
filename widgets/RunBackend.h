// What the widgets need from the engine, as a Qt interface: specs as JSON, runs and their data
// as ViewData values, live updates as signals (already coalesced to at most ~20 a second).
// The real implementation (app/bridge/EngineBackend) wraps a Session and the run store; tests
// may substitute a fake. Keeps widgets/ free of engine headers (DESIGN.md layering).
#pragma once

#include "visualization/LandscapeData.h"
#include "visualization/SensitivityData.h"
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

/// A loss landscape to compute around a stored run's last checkpoint (ALGORITHMS.md section 7).
struct LandscapeRequest {
    /// "random" (seeded filter-normalised directions), "hessian" (top-2 eigenvectors) or
    /// "interpolation" (1D, towards otherRunId's last checkpoint: w + alpha (w2 - w)).
    QString directions = QStringLiteral("random");
    qint64 otherRunId = 0;  ///< interpolation only
    int nx = 21;
    int ny = 21;  ///< 1: a 1D curve (always 1 for interpolation)
    double xMin = -1.0;
    double xMax = 1.0;
    double yMin = -1.0;
    double yMax = 1.0;
    QString mode;       ///< "float", "dequantized", "quantize-after"; empty: the run's default
    int samples = 500;  ///< images of the fixed evaluation subset (training split)
    quint64 seed = 123;
};

/// A Hessian analysis of a stored run's last checkpoint (ALGORITHMS.md section 5).
struct HessianRequest {
    QString mode;  ///< empty: the run's default
    int samples = 500;
    int topK = 2;           ///< eigenvalues by power iteration
    int traceSamples = 50;  ///< Hutchinson vectors for the per-layer traces
    QVector<int> candidateBits{2, 3, 4, 8};
    quint64 seed = 123;
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
    /// Why the last listRuns() came back empty (the store busy, unreadable or not a run store),
    /// ready to show; empty when it was read.
    virtual QString storeProblem() const { return {}; }
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

    // --- landscapes and curvature (one analysis at a time, shared with measureSharpness) ---
    /// Computes a landscape of the run's last checkpoint on the analysis worker, stored as it
    /// goes. Returns false with *error set when it cannot start; otherwise landscapeStarted
    /// follows (every point pending), then landscapePointsArrived batches and analysisProgress,
    /// then landscapeFinished (also after cancelAnalysis(): the surface as far as it got,
    /// resumable) or analysisFailed.
    virtual bool computeLandscape(qint64 runId, const LandscapeRequest& request,
                                  QString* error) = 0;
    /// Continues an unfinished stored landscape (same directions, only its pending points), with
    /// the same signals as computeLandscape().
    virtual bool resumeLandscape(qint64 landscapeId, QString* error) = 0;
    /// The stored landscapes of a run, oldest first: snapshots taken while it trained (same
    /// directions at several steps) and analyses, finished or not; label and status filled.
    virtual QVector<LandscapeSurface> landscapes(qint64 runId) const = 0;
    /// Hessian eigenvalues, per-layer traces and Omega of the run's last checkpoint on the
    /// analysis worker, recorded in the store; analysisProgress, then hessianAnalyzed or
    /// analysisFailed.
    virtual bool analyzeHessian(qint64 runId, const HessianRequest& request, QString* error) = 0;
    /// The stored Hessian reports of a run, oldest first.
    virtual QVector<HessianSummary> hessianReports(qint64 runId) const = 0;
    /// The exact size-vs-Omega Pareto frontier of a stored report under its run's quantization
    /// policy (first/last layers, residual ties), with the uniform allocations for comparison.
    /// No points, and *error set, when it cannot be computed.
    virtual ParetoFrontier paretoFrontier(qint64 hessianId, QString* error) const = 0;
    /// The complete spec that trains an allocation (layer -> weight bits, as in a frontier
    /// point) with LSQ from the report's checkpoint; empty with *error set when it cannot.
    virtual QJsonObject allocationSpec(qint64 hessianId, const QMap<QString, int>& bits,
                                       QString* error) const = 0;
    /// Asks the running analysis to stop; a landscape keeps what it computed (resumable).
    virtual void cancelAnalysis() = 0;

    // --- what users take away ---
    /// Exports the run's last checkpoint as `format` ("safetensors": packed integer codes and
    /// step sizes; "encodings": AIMET-style JSON; "onnx": QDQ graph) to `path` on the analysis
    /// worker, and records the file with the run (kind, path, SHA-256). Returns false with
    /// *error set when it cannot start; otherwise analysisProgress, then exported or
    /// analysisFailed.
    virtual bool exportRun(qint64 runId, const QString& format, const QString& path,
                           QString* error) = 0;
    /// Writes a report of one run, or a comparison of several, as self-contained HTML or PDF
    /// (by the extension of `path`). Reads only the store; returns false with *error set.
    virtual bool writeReport(const QVector<qint64>& runIds, const QString& path,
                             QString* error) = 0;

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
    /// A landscape computation started: the stored surface, every point pending (NaN).
    void landscapeStarted(const qs::ui::LandscapeSurface& surface);
    /// Finished points of the landscape being computed, and the fraction of its grid done.
    void landscapePointsArrived(const qs::ui::LandscapePoints& points, double fraction);
    /// A landscape ended (finished, or cancelled with the points it got) or a training run took
    /// a landscape snapshot: the surface as stored.
    void landscapeFinished(const qs::ui::LandscapeSurface& surface);
    /// A Hessian analysis ended and was recorded.
    void hessianAnalyzed(const qs::ui::HessianSummary& summary);
    /// An export finished and was recorded with the run: the file, its size and SHA-256.
    void exported(qint64 runId, const QString& format, const QString& path, qint64 bytes,
                  const QString& sha256);
    /// The set of runs in the store changed (a run started, ended, was renamed or deleted).
    void runsChanged();
};

}  // namespace qs::ui
