#include "app/bridge/EngineBackend.h"

#include "app/bridge/ViewConvert.h"
#include "app/report/Report.h"
#include "engine/analysis/MixedPrecision.h"
#include "engine/analysis/Sharpness.h"
#include "engine/export/Export.h"
#include "engine/session/ModelInfo.h"
#include "engine/session/Presets.h"
#include "engine/session/RunSpec.h"
#include "engine/session/Versions.h"
#include "engine/store/RunStore.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonParseError>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>

namespace qs::app {

namespace {

std::string toJsonText(const QJsonObject& spec) {
    return QJsonDocument(spec).toJson(QJsonDocument::Compact).toStdString();
}

QJsonObject toJsonObject(const std::string& text) {
    return QJsonDocument::fromJson(QByteArray::fromStdString(text)).object();
}

void setError(QString* error, const QString& text) {
    if (error) {
        *error = text;
    }
}

QString what(const std::exception& e) {
    return QString::fromUtf8(e.what());
}

bool isLive(const std::string& status) {
    return status == store::status::kRunning || status == store::status::kPaused ||
           status == store::status::kQueued;
}

}  // namespace

EngineBackend::EngineBackend(QString storePath, QString outDir, QObject* parent)
    : ui::RunBackend(parent),
      m_storePath(std::move(storePath)),
      m_outDir(std::move(outDir)),
      m_bridge(std::make_unique<SessionBridge>(m_session)) {
    registerViewMetaTypes();
    // Same thread (the bridge emits on this object's thread): direct forwarding.
    connect(m_bridge.get(), &SessionBridge::metricsAppended, this,
            &ui::RunBackend::metricsAppended);
    connect(m_bridge.get(), &SessionBridge::layerStatesUpdated, this,
            [this](const QVector<ui::LayerSnapshot>& snapshots) {
                for (const ui::LayerSnapshot& snapshot : snapshots) {
                    Q_EMIT layerStatesUpdated(snapshot);
                }
            });
    connect(m_bridge.get(), &SessionBridge::histogramUpdated, this,
            &ui::RunBackend::histogramUpdated);
    connect(m_bridge.get(), &SessionBridge::progressChanged, this,
            &ui::RunBackend::progressChanged);
    connect(m_bridge.get(), &SessionBridge::logAppended, this, &ui::RunBackend::logAppended);
    connect(m_bridge.get(), &SessionBridge::landscapeSnapshotTaken, this,
            &EngineBackend::onLandscapeSnapshot);
    connect(m_bridge.get(), &SessionBridge::runFinished, this, &EngineBackend::onRunFinished);
}

EngineBackend::~EngineBackend() {
    // The analysis worker stops at its next cancel check; what it posted to this object is
    // discarded with it (QObject drops pending events of a deleted receiver).
    m_analysisCancel = true;
    if (m_analysisThread.joinable()) {
        m_analysisThread.join();
    }
    // The bridge goes first (unsubscribes), then the session cancels and joins its worker.
    m_bridge.reset();
}

// --- specs ---

QVector<ui::PresetInfo> EngineBackend::presets() const {
    QVector<ui::PresetInfo> out;
    try {
        for (const session::PresetInfo& p : session::presets()) {
            out.append({toQString(p.name), toQString(p.description)});
        }
    } catch (const std::exception&) {
        // Presets are compiled in; a broken one leaves the list empty rather than crash the UI.
    }
    return out;
}

QJsonObject EngineBackend::presetSpec(const QString& name) const {
    try {
        return toJsonObject(session::preset(name.toStdString()).toJson());
    } catch (const std::exception&) {
        return {};
    }
}

ui::SpecProblem EngineBackend::validate(const QJsonObject& spec) const {
    try {
        session::RunSpec::fromJson(toJsonText(spec)).validate();
        return {};
    } catch (const session::SpecError& e) {
        return {toQString(e.field()), what(e)};
    } catch (const std::exception& e) {
        return {QString(), what(e)};
    }
}

QJsonObject EngineBackend::normalized(const QJsonObject& spec) const {
    try {
        return toJsonObject(session::RunSpec::fromJson(toJsonText(spec)).toJson());
    } catch (const std::exception&) {
        return {};
    }
}

QVector<ui::LayerRow> EngineBackend::plannedLayers(const QJsonObject& spec) const {
    QVector<ui::LayerRow> rows;
    try {
        const session::RunSpec parsed = session::RunSpec::fromJson(toJsonText(spec));
        for (const session::LayerState& state : session::plannedLayers(parsed)) {
            rows.append(toLayerRow(state));
        }
    } catch (const std::exception&) {
        rows.clear();
    }
    return rows;
}

QStringList EngineBackend::missingPaths(const QJsonObject& spec) const {
    // Read the raw JSON rather than a parsed RunSpec: the paths are worth checking even while
    // another field is still invalid. Defaults are the engine's.
    QStringList missing;
    const QJsonObject data = spec.value(QStringLiteral("data")).toObject();
    const session::DataSpec defaults;
    const QString dataset =
        data.value(QStringLiteral("dataset")).toString(toQString(defaults.dataset));
    QString dataPath = data.value(QStringLiteral("path")).toString();
    if (dataPath.isEmpty()) {
        dataPath = toQString(session::defaultDatasetPath(dataset.toStdString()));
    }
    if (dataPath.isEmpty()) {
        missing.append(
            QStringLiteral("data.path: (not set, and %1 has no default location)").arg(dataset));
    } else if (!QFileInfo(dataPath).isDir()) {
        missing.append(QStringLiteral("data.path: %1").arg(dataPath));
    }
    // A checkpoint field names a file, or "run:NAME" for a finished run in the store.
    auto checkCheckpoint = [&](const QString& field, const QString& value) {
        if (value.isEmpty()) {
            return;
        }
        if (value.startsWith(QLatin1String("run:"))) {
            try {
                const auto store = store::RunStore::open(m_storePath.toStdString());
                session::resolveCheckpointReference(*store, value.toStdString(),
                                                    field.toStdString());
            } catch (const std::exception& e) {
                missing.append(toQString(e.what()));
            }
        } else if (!QFileInfo(value).isFile()) {
            missing.append(QStringLiteral("%1: %2").arg(field, value));
        }
    };
    checkCheckpoint(QStringLiteral("init_checkpoint"),
                    spec.value(QStringLiteral("init_checkpoint")).toString());
    const QJsonObject distill =
        spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("distill")).toObject();
    if (distill.value(QStringLiteral("enabled")).toBool()) {
        checkCheckpoint(QStringLiteral("method.distill.teacher"),
                        distill.value(QStringLiteral("teacher")).toString());
    }
    return missing;
}

// --- the job ---

qint64 EngineBackend::startRun(const QJsonObject& spec, QString* error) {
    if (m_currentRun != 0) {
        setError(error, QStringLiteral("run %1 is still running; cancel it or wait for it to end")
                            .arg(m_currentRun));
        return 0;
    }
    if (m_analysisRun != 0) {
        setError(error, QStringLiteral(
                            "the sharpness analysis of run %1 is in progress; wait for it to end")
                            .arg(m_analysisRun));
        return 0;
    }
    try {
        const session::RunSpec parsed = session::RunSpec::fromJson(toJsonText(spec));
        if (m_session.isRunning()) {
            // The previous run has delivered its end (m_currentRun is 0): its worker is only
            // returning, so joining takes no time.
            m_session.wait();
        }
        std::filesystem::create_directories(m_outDir.toStdString());
        session::SessionOptions options;
        options.dbPath = m_storePath.toStdString();
        options.outDir = m_outDir.toStdString();
        const int64_t runId = m_session.start(parsed, options);
        m_currentRun = runId;
        Q_EMIT runStarted(runId, toJsonObject(parsed.toJson()));
        Q_EMIT runsChanged();
        return runId;
    } catch (const std::exception& e) {
        setError(error, what(e));
        return 0;
    }
}

void EngineBackend::pauseRun() {
    m_session.pause();
}

void EngineBackend::resumeRun() {
    m_session.resume();
}

void EngineBackend::cancelRun() {
    m_session.cancel();
}

bool EngineBackend::isRunning() const {
    return m_currentRun != 0;
}

bool EngineBackend::isPaused() const {
    return m_currentRun != 0 && m_session.isPaused();
}

void EngineBackend::requestHistogram(const QString& layer) {
    m_session.requestHistogram(layer.toStdString());
}

void EngineBackend::onRunFinished(const ui::RunEnd& end) {
    if (end.runId == m_currentRun) {
        m_currentRun = 0;
    }
    Q_EMIT runFinished(end);
    Q_EMIT runsChanged();
}

// --- the run store ---

QVector<ui::RunSummary> EngineBackend::listRuns() const {
    QVector<ui::RunSummary> out;
    try {
        // One connection per call: the store is in WAL mode, so reading never blocks the
        // worker's writer, and a store replaced on disk is picked up.
        const auto store = store::RunStore::open(m_storePath.toStdString());
        for (const store::RunRecord& record : store->listRuns()) {
            out.append(toRunSummary(record));
        }
        m_storeProblem.clear();
    } catch (const std::exception& e) {
        out.clear();
        m_storeProblem = what(e);
    }
    return out;
}

ui::RunData EngineBackend::loadRun(qint64 runId) const {
    ui::RunData data;
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const auto record = store->run(runId);
        if (!record) {
            return data;
        }
        data.summary = toRunSummary(*record);
        data.spec = toJsonObject(record->specJson);
        for (const store::MetricRow& m : store->metrics(runId)) {
            data.metrics.append(ui::MetricPoint{m.step, toQString(m.key), m.value});
        }
        std::vector<session::LayerState> planned;
        try {
            planned = session::plannedLayers(session::RunSpec::fromJson(record->specJson));
        } catch (const std::exception&) {
            // Without the model's layers the history keeps the store's order and no shapes.
        }
        data.layerHistory = toLayerHistory(runId, store->layerStates(runId), planned);
        for (const store::SharpnessRow& row : store->sharpness(runId)) {
            data.sharpness.append(toSharpnessPoint(row));
        }
    } catch (const std::exception&) {
        return ui::RunData{};
    }
    return data;
}

/// Rename and delete run on the GUI thread: a store another process keeps locked is reported
/// ("the run store is busy ...") after 2 s instead of freezing the window for the default 10 s.
const store::RunStoreOptions kInteractiveStore = [] {
    store::RunStoreOptions o;
    o.busyTimeoutMs = 2000;
    return o;
}();

bool EngineBackend::renameRun(qint64 runId, const QString& name, QString* error) {
    if (name.trimmed().isEmpty()) {
        setError(error, QStringLiteral("a run name must not be empty"));
        return false;
    }
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString(), kInteractiveStore);
        if (!store->run(runId)) {
            setError(error, QStringLiteral("no run with id %1 in %2").arg(runId).arg(m_storePath));
            return false;
        }
        store->renameRun(runId, name.toStdString());
    } catch (const std::exception& e) {
        setError(error, what(e));
        return false;
    }
    Q_EMIT runsChanged();
    return true;
}

bool EngineBackend::deleteRun(qint64 runId, QString* error) {
    if (runId != 0 && runId == m_currentRun) {
        setError(error,
                 QStringLiteral("run %1 is running; cancel it before deleting it").arg(runId));
        return false;
    }
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString(), kInteractiveStore);
        const auto record = store->run(runId);
        if (!record) {
            setError(error, QStringLiteral("no run with id %1 in %2").arg(runId).arg(m_storePath));
            return false;
        }
        // open() has already marked runs of dead processes interrupted: a live status here
        // means another process (quantscape-cli) is writing this run.
        if (isLive(record->status)) {
            setError(error, QStringLiteral("run %1 is %2 in another process (pid %3)")
                                .arg(runId)
                                .arg(toQString(record->status))
                                .arg(record->pid));
            return false;
        }
        store->deleteRun(runId);
    } catch (const std::exception& e) {
        setError(error, what(e));
        return false;
    }
    Q_EMIT runsChanged();
    return true;
}

// --- analyses ---

std::string EngineBackend::analysisCheckpoint(qint64 runId, const QString& action,
                                              QString* error) const {
    if (m_analysisRun != 0) {
        setError(error, QStringLiteral("an analysis of run %1 is in progress; wait for it to end")
                            .arg(m_analysisRun));
        return {};
    }
    if (m_currentRun != 0) {
        setError(
            error,
            QStringLiteral("run %1 is training; %2 after it ends").arg(m_currentRun).arg(action));
        return {};
    }
    try {
        // Checked here, so that a run without a checkpoint is refused at once rather than
        // reported by the worker a moment later.
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const auto record = store->run(runId);
        if (!record) {
            setError(error, QStringLiteral("no run with id %1 in %2").arg(runId).arg(m_storePath));
            return {};
        }
        if (isLive(record->status)) {
            setError(error, QStringLiteral("run %1 is %2; %3 after it ends")
                                .arg(runId)
                                .arg(toQString(record->status))
                                .arg(action));
            return {};
        }
        return analysis::runCheckpoint(*store, runId);
    } catch (const std::exception& e) {
        setError(error, what(e));
        return {};
    }
}

void EngineBackend::startAnalysis(qint64 runId, std::function<void()> body) {
    if (m_analysisThread.joinable()) {
        m_analysisThread.join();  // the previous worker has posted its end and is returning
    }
    m_analysisCancel = false;
    m_analysisRun = runId;
    m_analysisThread = std::thread(std::move(body));
}

analysis::AnalysisProgress EngineBackend::progressPoster(qint64 runId) {
    // Runs on the analysis thread: only value copies go to this object, each posted with
    // Qt::QueuedConnection because its signals are received by widgets on the GUI thread.
    using Clock = std::chrono::steady_clock;
    static constexpr auto kProgressInterval = std::chrono::milliseconds(100);
    auto last = std::make_shared<Clock::time_point>(Clock::now() - kProgressInterval);
    return [this, runId, last](const std::string& phase, double fraction) {
        const Clock::time_point now = Clock::now();
        if (now - *last < kProgressInterval && fraction < 1.0) {
            return;
        }
        *last = now;
        QMetaObject::invokeMethod(
            this,
            [this, runId, phase = toQString(phase), fraction] {
                Q_EMIT analysisProgress(runId, phase, fraction);
            },
            Qt::QueuedConnection);
    };
}

void EngineBackend::postFailure(qint64 runId, const QString& message) {
    QMetaObject::invokeMethod(
        this,
        [this, runId, message] {
            endAnalysis();
            Q_EMIT analysisFailed(runId, message);
        },
        Qt::QueuedConnection);
}

bool EngineBackend::exportRun(qint64 runId, const QString& format, const QString& path,
                              QString* error) {
    if (!exporting::exportFormatKnown(format.toStdString())) {
        setError(error, QStringLiteral("unknown export format '%1'").arg(format));
        return false;
    }
    const std::string checkpoint = analysisCheckpoint(runId, QStringLiteral("export"), error);
    if (checkpoint.empty()) {
        return false;
    }
    const std::string fmt = format.toStdString();
    const std::string out = path.toStdString();
    startAnalysis(runId, [this, runId, checkpoint, fmt, out] {
        try {
            progressPoster(runId)("exporting " + fmt, 0.0);
            const auto store = store::RunStore::open(m_storePath.toStdString());
            const exporting::ExportSummary s =
                exporting::exportRun(*store, runId, checkpoint, fmt, out);
            const QString file = QString::fromStdString(s.path);
            const QString sha = QString::fromStdString(s.sha256);
            const QString kind = QString::fromStdString(s.format);
            const qint64 bytes = s.bytes;
            QMetaObject::invokeMethod(
                this,
                [this, runId, kind, file, bytes, sha] {
                    endAnalysis();
                    Q_EMIT exported(runId, kind, file, bytes, sha);
                },
                Qt::QueuedConnection);
        } catch (const std::exception& e) {
            postFailure(runId, QStringLiteral("Export of run %1: %2").arg(runId).arg(what(e)));
        }
    });
    return true;
}

bool EngineBackend::writeReport(const QVector<qint64>& runIds, const QString& path,
                                QString* error) {
    report::ReportOptions options;
    options.runs.assign(runIds.begin(), runIds.end());
    options.dbPath = m_storePath.toStdString();
    options.outPath = path.toStdString();
    try {
        report::writeReport(options);
    } catch (const std::exception& e) {
        setError(error, what(e));
        return false;
    }
    return true;
}

bool EngineBackend::measureSharpness(qint64 runId, QString* error) {
    const std::string checkpoint =
        analysisCheckpoint(runId, QStringLiteral("measure sharpness"), error);
    if (checkpoint.empty()) {
        return false;
    }
    startAnalysis(runId, [this, runId, checkpoint] { runSharpnessAnalysis(runId, checkpoint); });
    return true;
}

void EngineBackend::runSharpnessAnalysis(qint64 runId, const std::string& checkpoint) {
    try {
        const analysis::SharpnessReport report =
            analysis::measureSharpness(checkpoint, {}, progressPoster(runId), &m_analysisCancel);
        const auto store = store::RunStore::open(m_storePath.toStdString());
        analysis::recordSharpness(*store, runId, report);
        QVector<ui::SharpnessPoint> points;
        for (const analysis::SharpnessFigure& figure : report.figures) {
            points.append(toSharpnessPoint(figure, report.step));
        }
        QMetaObject::invokeMethod(
            this,
            [this, runId, points] {
                endAnalysis();
                Q_EMIT sharpnessMeasured(runId, points);
                Q_EMIT runsChanged();  // the run's final metrics gained sharpness/... keys
            },
            Qt::QueuedConnection);
    } catch (const std::exception& e) {
        postFailure(runId, QStringLiteral("Sharpness of run %1: %2").arg(runId).arg(what(e)));
    }
}

bool EngineBackend::computeLandscape(qint64 runId, const ui::LandscapeRequest& request,
                                     QString* error) {
    analysis::LandscapeOptions o;
    o.directions = request.directions.toStdString();
    o.nx = request.nx;
    o.ny = request.directions == QLatin1String("interpolation") ? 1 : request.ny;
    o.xMin = request.xMin;
    o.xMax = request.xMax;
    o.yMin = request.yMin;
    o.yMax = request.yMax;
    o.mode = request.mode.toStdString();
    o.samples = request.samples;
    o.seed = request.seed;
    if (o.directions == "interpolation") {
        try {
            const auto store = store::RunStore::open(m_storePath.toStdString());
            o.otherCheckpoint = analysis::runCheckpoint(*store, request.otherRunId);
        } catch (const std::exception& e) {
            setError(error, QStringLiteral("interpolation towards run %1: %2")
                                .arg(request.otherRunId)
                                .arg(what(e)));
            return false;
        }
    }
    const std::string checkpoint =
        analysisCheckpoint(runId, QStringLiteral("compute its landscape"), error);
    if (checkpoint.empty()) {
        return false;
    }
    startAnalysis(runId, [this, runId, checkpoint, o] { runLandscape(runId, checkpoint, o, 0); });
    return true;
}

bool EngineBackend::resumeLandscape(qint64 landscapeId, QString* error) {
    qint64 runId = 0;
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const auto row = store->landscape(landscapeId);
        if (!row) {
            setError(
                error,
                QStringLiteral("no landscape with id %1 in %2").arg(landscapeId).arg(m_storePath));
            return false;
        }
        if (row->status == store::status::kFinished) {
            setError(error, QStringLiteral("landscape %1 is already complete").arg(landscapeId));
            return false;
        }
        runId = row->runId;
    } catch (const std::exception& e) {
        setError(error, what(e));
        return false;
    }
    if (m_analysisRun != 0 || m_currentRun != 0) {
        setError(error, m_analysisRun != 0
                            ? QStringLiteral("an analysis of run %1 is in progress; wait for it "
                                             "to end")
                                  .arg(m_analysisRun)
                            : QStringLiteral("run %1 is training; resume the landscape after it "
                                             "ends")
                                  .arg(m_currentRun));
        return false;
    }
    startAnalysis(runId > 0 ? runId : -landscapeId,
                  [this, runId, landscapeId] { runLandscape(runId, {}, {}, landscapeId); });
    return true;
}

void EngineBackend::runLandscape(qint64 runId, const std::string& checkpoint,
                                 const analysis::LandscapeOptions& options, qint64 resumeId) {
    // Finished points are coalesced into at most ~10 signals a second: a fine grid of a small
    // model finishes rows faster than a view needs to redraw.
    using Clock = std::chrono::steady_clock;
    constexpr auto kInterval = std::chrono::milliseconds(100);
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
        QString runName;
        if (const auto record = runId > 0 ? store->run(runId) : std::nullopt) {
            runName = toQString(record->name);
        }
        const analysis::AnalysisProgress progress = progressPoster(runId);
        bool started = false;
        ui::LandscapePoints pending;
        double fraction = 0.0;
        Clock::time_point lastPost = Clock::now() - kInterval;
        const auto post = [&] {
            if (pending.points.isEmpty()) {
                return;
            }
            QMetaObject::invokeMethod(
                this,
                [this, points = pending, fraction] {
                    Q_EMIT landscapePointsArrived(points, fraction);
                },
                Qt::QueuedConnection);
            pending.points.clear();
            lastPost = Clock::now();
        };
        const auto announce = [&](const store::LandscapeRow& row) {
            started = true;
            QMetaObject::invokeMethod(
                this,
                [this, surface = toLandscapeSurface(row, runName)] {
                    Q_EMIT landscapeStarted(surface);
                },
                Qt::QueuedConnection);
        };
        const analysis::LandscapeCallback onPoints = [&](const analysis::LandscapePoints& p) {
            if (!started) {
                // The engine created the stored row before its first point: announce it.
                if (const auto row = store->landscape(p.id)) {
                    announce(*row);
                }
            }
            const ui::LandscapePoints converted = toLandscapePoints(p);
            pending.id = converted.id;
            pending.points += converted.points;
            fraction = p.fraction;
            progress("landscape", p.fraction);
            if (Clock::now() - lastPost >= kInterval) {
                post();
            }
        };
        analysis::LandscapeSurface result;
        if (resumeId > 0) {
            if (const auto row = store->landscape(resumeId)) {
                announce(*row);
            }
            result = analysis::resumeLandscape(*store, resumeId, {}, onPoints, &m_analysisCancel);
        } else {
            result = analysis::computeLandscape(checkpoint, options, store.get(), runId, {},
                                                onPoints, &m_analysisCancel);
        }
        post();
        QMetaObject::invokeMethod(
            this,
            [this, surface = toLandscapeSurface(result, runName)] {
                endAnalysis();
                Q_EMIT landscapeFinished(surface);
            },
            Qt::QueuedConnection);
    } catch (const std::exception& e) {
        postFailure(runId, QStringLiteral("Landscape: %1").arg(what(e)));
    }
}

QVector<ui::LandscapeSurface> EngineBackend::landscapes(qint64 runId) const {
    QVector<ui::LandscapeSurface> out;
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const auto record = store->run(runId);
        const QString name = record ? toQString(record->name) : QString();
        for (const store::LandscapeRow& row : store->landscapes(runId)) {
            out.append(toLandscapeSurface(row, name));
        }
    } catch (const std::exception&) {
    }
    return out;
}

void EngineBackend::onLandscapeSnapshot(qint64 runId) {
    const QVector<ui::LandscapeSurface> stored = landscapes(runId);
    if (!stored.isEmpty()) {
        Q_EMIT landscapeFinished(stored.last());
    }
}

bool EngineBackend::analyzeHessian(qint64 runId, const ui::HessianRequest& request,
                                   QString* error) {
    analysis::HessianOptions o;
    o.mode = request.mode.toStdString();
    o.samples = request.samples;
    o.topK = request.topK;
    o.traceSamples = request.traceSamples;
    o.candidateBits.assign(request.candidateBits.begin(), request.candidateBits.end());
    o.seed = request.seed;
    const std::string checkpoint =
        analysisCheckpoint(runId, QStringLiteral("analyse its Hessian"), error);
    if (checkpoint.empty()) {
        return false;
    }
    startAnalysis(runId, [this, runId, checkpoint, o] { runHessian(runId, checkpoint, o); });
    return true;
}

void EngineBackend::runHessian(qint64 runId, const std::string& checkpoint,
                               const analysis::HessianOptions& options) {
    try {
        const analysis::HessianReport report =
            analysis::analyzeHessian(checkpoint, options, progressPoster(runId), &m_analysisCancel);
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const int64_t id = analysis::recordHessian(*store, runId, report);
        const auto row = store->hessianReport(id);
        if (!row) {
            throw std::runtime_error("the recorded report " + std::to_string(id) +
                                     " cannot be read back");
        }
        QMetaObject::invokeMethod(
            this,
            [this, summary = toHessianSummary(*row)] {
                endAnalysis();
                Q_EMIT hessianAnalyzed(summary);
                Q_EMIT runsChanged();  // the run's final metrics gained hessian/... keys
            },
            Qt::QueuedConnection);
    } catch (const std::exception& e) {
        postFailure(runId, QStringLiteral("Hessian of run %1: %2").arg(runId).arg(what(e)));
    }
}

QVector<ui::HessianSummary> EngineBackend::hessianReports(qint64 runId) const {
    QVector<ui::HessianSummary> out;
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
        for (const store::HessianRow& row : store->hessianReports(runId)) {
            out.append(toHessianSummary(row));
        }
    } catch (const std::exception&) {
    }
    return out;
}

namespace {

/// A stored report as an allocation problem under its checkpoint's quantization policy, over
/// the bit-widths it has Omega for.
struct StoredProblem {
    int64_t runId = 0;
    analysis::HessianReport report;
    session::RunSpec spec;
    analysis::AllocationProblem problem;
};

StoredProblem storedProblem(const QString& storePath, qint64 hessianId) {
    const auto store = store::RunStore::open(storePath.toStdString());
    const auto row = store->hessianReport(hessianId);
    if (!row) {
        throw std::invalid_argument("no Hessian report with id " + std::to_string(hessianId));
    }
    if (row->layers.empty() || row->layers.front().omega.empty()) {
        throw std::invalid_argument("Hessian report " + std::to_string(hessianId) +
                                    " has no per-layer sensitivities (computed without traces)");
    }
    StoredProblem p;
    p.runId = row->runId;
    p.report = analysis::reportFromRow(*row);
    p.spec = analysis::checkpointRunSpec(row->checkpoint);
    std::vector<int> bits;
    for (const auto& [b, omega] : row->layers.front().omega) {
        bits.push_back(b);
    }
    p.problem = analysis::allocationProblem(p.report, p.spec, bits);
    return p;
}

ui::FrontierPoint toFrontierPoint(const analysis::AllocationProblem& problem,
                                  const analysis::Allocation& a) {
    ui::FrontierPoint p;
    p.sizeBytes = a.sizeBytes;
    p.omega = a.omega;
    p.bitOps = a.bitOps;
    for (std::size_t i = 0; i < problem.layers.size() && i < a.bits.size(); ++i) {
        p.bits.insert(toQString(problem.layers[i].layer), a.bits[i]);
    }
    return p;
}

}  // namespace

ui::ParetoFrontier EngineBackend::paretoFrontier(qint64 hessianId, QString* error) const {
    ui::ParetoFrontier out;
    try {
        const StoredProblem p = storedProblem(m_storePath, hessianId);
        out.runId = p.runId;
        // A budget no allocation exceeds: the frontier is the same for every budget.
        analysis::AllocationBudget everything;
        everything.sizeBytes = std::numeric_limits<double>::max();
        for (const analysis::Allocation& a :
             analysis::allocateBits(p.problem, everything).frontier) {
            out.points.append(toFrontierPoint(p.problem, a));
        }
        // Uniform allocations: the same problem with a single candidate.
        for (int bits : p.problem.candidateBits) {
            analysis::AllocationProblem uniform = p.problem;
            uniform.candidateBits = {bits};
            const auto result = analysis::allocateBits(uniform, everything);
            if (!result.frontier.empty()) {
                out.uniform.insert(bits, toFrontierPoint(p.problem, result.frontier.front()));
            }
        }
    } catch (const std::exception& e) {
        setError(
            error,
            QStringLiteral("Pareto frontier of Hessian report %1: %2").arg(hessianId).arg(what(e)));
        out.points.clear();
    }
    return out;
}

QJsonObject EngineBackend::allocationSpec(qint64 hessianId, const QMap<QString, int>& bits,
                                          QString* error) const {
    try {
        const StoredProblem p = storedProblem(m_storePath, hessianId);
        analysis::Allocation a;
        for (const analysis::LayerCost& layer : p.problem.layers) {
            const auto it = bits.find(toQString(layer.layer));
            if (layer.fixedBits >= 0) {
                a.bits.push_back(layer.fixedBits);
            } else if (it == bits.end()) {
                throw std::invalid_argument("no bit-width for layer " + layer.layer);
            } else {
                a.bits.push_back(it.value());
            }
        }
        return toJsonObject(
            analysis::allocationSpec(p.spec, p.problem, a, p.report.checkpoint).toJson());
    } catch (const std::exception& e) {
        setError(
            error,
            QStringLiteral("allocation from Hessian report %1: %2").arg(hessianId).arg(what(e)));
        return {};
    }
}

void EngineBackend::endAnalysis() {
    if (m_analysisThread.joinable()) {
        m_analysisThread.join();
    }
    m_analysisRun = 0;
}

QMap<QString, QString> EngineBackend::versions() const {
    QMap<QString, QString> out;
    out.insert(QStringLiteral("Quantscape"), QStringLiteral(QS_VERSION));
    out.insert(QStringLiteral("Qt"), QString::fromLatin1(qVersion()));
    out.insert(QStringLiteral("SQLite"), QString::fromLatin1(sqlite3_libversion()));
    QString torch = QStringLiteral("see quantscape-cli --version");
    try {
        const auto engine = session::engineVersions();
        auto it = engine.find("libtorch");
        if (it != engine.end()) {
            torch = toQString(it->second);
        }
    } catch (const std::exception&) {
    }
    out.insert(QStringLiteral("LibTorch"), torch);
    return out;
}

}  // namespace qs::app
