#include "widgets/ActiveRunData.h"

#include "widgets/RunBackend.h"
#include "widgets/SelectionHub.h"

#include <QJsonObject>

namespace qs::ui {

ActiveRunData::ActiveRunData(RunBackend* backend, SelectionHub* hub, QObject* parent)
    : QObject(parent), m_backend(backend), m_hub(hub) {
    connect(hub, &SelectionHub::activeRunChanged, this, &ActiveRunData::onActiveRunChanged);
    connect(hub, &SelectionHub::activeLayerChanged, this, &ActiveRunData::onActiveLayerChanged);
    connect(backend, &RunBackend::runStarted, this, &ActiveRunData::onRunStarted);
    connect(backend, &RunBackend::metricsAppended, this, &ActiveRunData::onMetricsAppended);
    connect(backend, &RunBackend::layerStatesUpdated, this, &ActiveRunData::onLayerStatesUpdated);
    connect(backend, &RunBackend::histogramUpdated, this, &ActiveRunData::onHistogramUpdated);
    connect(backend, &RunBackend::progressChanged, this, &ActiveRunData::onProgressChanged);
    connect(backend, &RunBackend::runFinished, this, &ActiveRunData::onRunFinished);
    connect(backend, &RunBackend::sharpnessMeasured, this, &ActiveRunData::onSharpnessMeasured);
    connect(backend, &RunBackend::landscapeStarted, this, &ActiveRunData::onLandscapeStarted);
    connect(backend, &RunBackend::landscapePointsArrived, this,
            &ActiveRunData::onLandscapePointsArrived);
    connect(backend, &RunBackend::landscapeFinished, this, &ActiveRunData::onLandscapeFinished);
    connect(backend, &RunBackend::hessianAnalyzed, this, &ActiveRunData::onHessianAnalyzed);
    connect(backend, &RunBackend::analysisProgress, this,
            [this](qint64 runId, const QString& phase, double fraction) {
                if (runId != 0 && runId == m_shownId) {
                    Q_EMIT analysisProgress(phase, fraction);
                }
            });
    connect(backend, &RunBackend::analysisFailed, this, [this](qint64 runId, const QString&) {
        if (runId != 0 && runId == m_shownId) {
            // A landscape that failed ends without landscapeFinished: read what was stored.
            m_landscapes = m_backend->landscapes(runId);
            Q_EMIT analysisEnded();
        }
    });
    if (hub->activeRun() != 0) {
        onActiveRunChanged(hub->activeRun());
    }
}

bool ActiveRunData::isLive() const {
    return m_shownId != 0 && m_shownId == m_liveId && m_liveRunning;
}

QVector<LayerRow> ActiveRunData::latestLayers() const {
    const RunData& d = data();
    return d.layerHistory.isEmpty() ? QVector<LayerRow>{} : d.layerHistory.last().layers;
}

QStringList ActiveRunData::layerNames() const {
    QStringList names;
    for (const LayerRow& row : latestLayers()) {
        names << row.layer;
    }
    if (names.isEmpty() && !data().spec.isEmpty()) {
        for (const LayerRow& row : m_backend->plannedLayers(data().spec)) {
            names << row.layer;
        }
    }
    return names;
}

const LandscapeSurface* ActiveRunData::landscape(qint64 id) const {
    for (const LandscapeSurface& s : m_landscapes) {
        if (s.id == id) {
            return &s;
        }
    }
    return nullptr;
}

void ActiveRunData::onActiveRunChanged(qint64 runId) {
    m_shownId = runId;
    m_histogram = WeightHistogram{};
    if (runId == 0) {
        m_stored = RunData{};
    } else if (runId != m_liveId) {
        m_stored = m_backend->loadRun(runId);
    }
    m_landscapes = runId == 0 ? QVector<LandscapeSurface>{} : m_backend->landscapes(runId);
    m_hessianReports = runId == 0 ? QVector<HessianSummary>{} : m_backend->hessianReports(runId);
    Q_EMIT reset();
    requestHistogramIfLive();
}

void ActiveRunData::onActiveLayerChanged(const QString&) {
    if (m_histogram.layer != m_hub->activeLayer()) {
        m_histogram = WeightHistogram{};
        Q_EMIT histogramChanged(m_histogram);
    }
    requestHistogramIfLive();
}

void ActiveRunData::requestHistogramIfLive() {
    if (isLive() && !m_hub->activeLayer().isEmpty()) {
        m_backend->requestHistogram(m_hub->activeLayer());
    }
}

void ActiveRunData::onRunStarted(qint64 runId, const QJsonObject& spec) {
    m_liveId = runId;
    m_liveRunning = true;
    m_live = RunData{};
    m_live.spec = spec;
    m_live.summary.id = runId;
    m_live.summary.name = spec.value(QStringLiteral("name")).toString();
    m_live.summary.status = QStringLiteral("running");
    m_live.summary.method =
        spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("name")).toString();
    const QJsonObject quant = spec.value(QStringLiteral("quant")).toObject();
    m_live.summary.bits = m_live.summary.method == QLatin1String("fp")
                              ? QStringLiteral("float")
                              : QStringLiteral("W%1A%2")
                                    .arg(quant.value(QStringLiteral("weight_bits")).toInt())
                                    .arg(quant.value(QStringLiteral("act_bits")).toInt());
    m_live.summary.arch =
        spec.value(QStringLiteral("model")).toObject().value(QStringLiteral("arch")).toString();
    m_live.summary.dataset =
        spec.value(QStringLiteral("data")).toObject().value(QStringLiteral("dataset")).toString();
    m_live.summary.created = QDateTime::currentDateTime();
    // The views follow the job the user just started.
    if (m_hub->activeRun() == runId) {
        onActiveRunChanged(runId);
    } else {
        m_hub->setActiveRun(runId);
    }
}

void ActiveRunData::onMetricsAppended(qint64 runId, const QVector<MetricPoint>& points) {
    if (runId != m_liveId || m_liveId == 0) {
        return;
    }
    m_live.metrics += points;
    if (m_shownId == m_liveId) {
        Q_EMIT metricsAppended(points);
    }
}

void ActiveRunData::onLayerStatesUpdated(const LayerSnapshot& snapshot) {
    if (snapshot.runId != m_liveId || m_liveId == 0) {
        return;
    }
    m_live.layerHistory.push_back(snapshot);
    if (m_shownId == m_liveId) {
        Q_EMIT layersAppended(snapshot);
    }
}

void ActiveRunData::onHistogramUpdated(const WeightHistogram& histogram) {
    if (histogram.runId != m_shownId || m_shownId == 0 || histogram.layer != m_hub->activeLayer()) {
        return;
    }
    m_histogram = histogram;
    Q_EMIT histogramChanged(m_histogram);
}

void ActiveRunData::onProgressChanged(const JobProgress& progress) {
    if (progress.runId != m_liveId || m_liveId == 0 || !m_liveRunning) {
        return;
    }
    const QString status = progress.phase == QLatin1String("paused") ? QStringLiteral("paused")
                                                                     : QStringLiteral("running");
    if (status != m_live.summary.status) {
        m_live.summary.status = status;
        if (m_shownId == m_liveId) {
            Q_EMIT statusChanged();
        }
    }
}

void ActiveRunData::onRunFinished(const RunEnd& end) {
    if (end.runId != m_liveId) {
        return;
    }
    m_liveRunning = false;
    m_live.summary.status = end.status;
    m_live.summary.finalMetrics = end.finalMetrics;
    m_live.summary.finished = QDateTime::currentDateTime();
    if (m_shownId == m_liveId) {
        Q_EMIT statusChanged();
    }
}

void ActiveRunData::onSharpnessMeasured(qint64 runId, const QVector<SharpnessPoint>& figures) {
    if (runId == 0) {
        return;
    }
    // The live run's record stays in memory after it ends, so it takes the figures too.
    if (runId == m_liveId) {
        m_live.sharpness += figures;
    }
    if (runId == m_shownId && runId != m_liveId) {
        m_stored.sharpness += figures;
    }
    if (runId == m_shownId) {
        Q_EMIT sharpnessAppended(figures);
        Q_EMIT analysisEnded();
    }
}

bool ActiveRunData::storeLandscape(const LandscapeSurface& surface) {
    for (LandscapeSurface& s : m_landscapes) {
        if (s.id == surface.id) {
            const bool wasRunning = s.status == QLatin1String("running");
            s = surface;
            return wasRunning;
        }
    }
    m_landscapes.append(surface);
    return false;
}

void ActiveRunData::onLandscapeStarted(const LandscapeSurface& surface) {
    if (surface.runId == 0 || surface.runId != m_shownId) {
        return;
    }
    storeLandscape(surface);
    Q_EMIT landscapeStarted(surface);
}

void ActiveRunData::onLandscapePointsArrived(const LandscapePoints& points, double fraction) {
    // Points carry only the landscape's id: they belong to the shown run when it holds that id.
    for (LandscapeSurface& s : m_landscapes) {
        if (s.id == points.id) {
            applyLandscapePoints(s, points);
            Q_EMIT landscapePointsArrived(points, fraction);
            return;
        }
    }
}

void ActiveRunData::onLandscapeFinished(const LandscapeSurface& surface) {
    if (surface.runId == 0 || surface.runId != m_shownId) {
        return;
    }
    const bool wasComputed = storeLandscape(surface);
    Q_EMIT landscapeFinished(surface);
    // A training snapshot is no analysis; a computed landscape ending is.
    if (wasComputed) {
        Q_EMIT analysisEnded();
    }
}

void ActiveRunData::onHessianAnalyzed(const HessianSummary& summary) {
    if (summary.runId == 0 || summary.runId != m_shownId) {
        return;
    }
    bool replaced = false;
    for (HessianSummary& h : m_hessianReports) {
        if (h.id == summary.id) {
            h = summary;
            replaced = true;
        }
    }
    if (!replaced) {
        m_hessianReports.append(summary);
    }
    Q_EMIT hessianAnalyzed(summary);
    Q_EMIT analysisEnded();
}

}  // namespace qs::ui
