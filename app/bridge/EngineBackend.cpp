#include "app/bridge/EngineBackend.h"

#include "app/bridge/ViewConvert.h"
#include "engine/analysis/Sharpness.h"
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
    } catch (const std::exception&) {
        out.clear();
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

bool EngineBackend::renameRun(qint64 runId, const QString& name, QString* error) {
    if (name.trimmed().isEmpty()) {
        setError(error, QStringLiteral("a run name must not be empty"));
        return false;
    }
    try {
        const auto store = store::RunStore::open(m_storePath.toStdString());
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
        const auto store = store::RunStore::open(m_storePath.toStdString());
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

bool EngineBackend::measureSharpness(qint64 runId, QString* error) {
    if (m_analysisRun != 0) {
        setError(error, QStringLiteral(
                            "the sharpness analysis of run %1 is in progress; wait for it to end")
                            .arg(m_analysisRun));
        return false;
    }
    if (m_currentRun != 0) {
        setError(error, QStringLiteral("run %1 is training; measure sharpness after it ends")
                            .arg(m_currentRun));
        return false;
    }
    std::string checkpoint;
    try {
        // Checked here, so that a run without a checkpoint is refused at once rather than
        // reported by the worker a moment later.
        const auto store = store::RunStore::open(m_storePath.toStdString());
        const auto record = store->run(runId);
        if (!record) {
            setError(error, QStringLiteral("no run with id %1 in %2").arg(runId).arg(m_storePath));
            return false;
        }
        if (isLive(record->status)) {
            setError(error, QStringLiteral("run %1 is %2; measure sharpness after it ends")
                                .arg(runId)
                                .arg(toQString(record->status)));
            return false;
        }
        checkpoint = analysis::runCheckpoint(*store, runId);
    } catch (const std::exception& e) {
        setError(error, what(e));
        return false;
    }
    if (m_analysisThread.joinable()) {
        m_analysisThread.join();  // the previous worker has posted its end and is returning
    }
    m_analysisCancel = false;
    m_analysisRun = runId;
    m_analysisThread =
        std::thread([this, runId, checkpoint] { runSharpnessAnalysis(runId, checkpoint); });
    return true;
}

void EngineBackend::runSharpnessAnalysis(qint64 runId, const std::string& checkpoint) {
    // Runs on the analysis thread: only value copies go to this object, each posted with
    // Qt::QueuedConnection because its signals are received by widgets on the GUI thread.
    using Clock = std::chrono::steady_clock;
    constexpr auto kProgressInterval = std::chrono::milliseconds(100);
    Clock::time_point lastProgress = Clock::now() - kProgressInterval;
    const analysis::AnalysisProgress progress = [&](const std::string& phase, double fraction) {
        const Clock::time_point now = Clock::now();
        if (now - lastProgress < kProgressInterval && fraction < 1.0) {
            return;
        }
        lastProgress = now;
        QMetaObject::invokeMethod(
            this,
            [this, runId, phase = toQString(phase), fraction] {
                Q_EMIT analysisProgress(runId, phase, fraction);
            },
            Qt::QueuedConnection);
    };
    try {
        const analysis::SharpnessReport report =
            analysis::measureSharpness(checkpoint, {}, progress, &m_analysisCancel);
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
        const QString message =
            QStringLiteral("Sharpness of run %1: %2").arg(runId).arg(QString::fromUtf8(e.what()));
        QMetaObject::invokeMethod(
            this,
            [this, runId, message] {
                endAnalysis();
                Q_EMIT analysisFailed(runId, message);
            },
            Qt::QueuedConnection);
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
