// The data of the run the hub marks active, kept in one place so every view (dashboard, layer
// table) shows the same thing: a stored run is read once with loadRun(); the live run is
// accumulated from the backend's signals from the moment it starts, so switching away from it
// and back loses nothing. The run's stored landscapes and Hessian reports are read with it and
// follow the backend's landscape and Hessian signals (a landscape being computed fills in here
// point by point).
#pragma once

#include "visualization/LandscapeData.h"
#include "visualization/SensitivityData.h"
#include "visualization/ViewData.h"

#include <QObject>

namespace qs::ui {

class RunBackend;
class SelectionHub;

class ActiveRunData : public QObject {
    Q_OBJECT
public:
    ActiveRunData(RunBackend* backend, SelectionHub* hub, QObject* parent = nullptr);

    /// The shown run (the hub's active run); 0 = none.
    qint64 runId() const { return m_shownId; }
    /// True while the shown run is the job that is running (or paused) now.
    bool isLive() const;
    /// Summary, spec, metrics and layer history of the shown run.
    const RunData& data() const {
        return m_shownId != 0 && m_shownId == m_liveId ? m_live : m_stored;
    }
    /// The last layer snapshot's rows (the layer table's content); empty when none.
    QVector<LayerRow> latestLayers() const;
    /// Layer names in forward order, from the last snapshot (or the spec's planned layers).
    QStringList layerNames() const;
    /// The last histogram received for the shown run; counts empty when none.
    const WeightHistogram& histogram() const { return m_histogram; }
    /// The shown run's landscapes, oldest first (RunBackend::landscapes), with the points of one
    /// being computed applied as they arrive.
    const QVector<LandscapeSurface>& landscapes() const { return m_landscapes; }
    /// The shown run's landscape with this id, or nullptr.
    const LandscapeSurface* landscape(qint64 id) const;
    /// The shown run's Hessian reports, oldest first.
    const QVector<HessianSummary>& hessianReports() const { return m_hessianReports; }
    /// The backend the data comes from (panels that start analyses or query the store use it).
    RunBackend* backend() const { return m_backend; }

Q_SIGNALS:
    /// The shown run changed (or was loaded again): views rebuild from data().
    void reset();
    void metricsAppended(const QVector<qs::ui::MetricPoint>& points);
    void layersAppended(const qs::ui::LayerSnapshot& snapshot);
    void histogramChanged(const qs::ui::WeightHistogram& histogram);
    /// The shown run's status changed (started, paused, finished, failed).
    void statusChanged();
    /// New sharpness figures of the shown run arrived (already in data().sharpness).
    void sharpnessAppended(const QVector<qs::ui::SharpnessPoint>& figures);
    /// An analysis of the shown run progressed.
    void analysisProgress(const QString& phase, double fraction);
    /// An analysis of the shown run ended (figures arrived, a landscape or Hessian analysis
    /// ended, or it failed).
    void analysisEnded();
    /// A landscape of the shown run started (or resumed); already in landscapes().
    void landscapeStarted(const qs::ui::LandscapeSurface& surface);
    /// Points of a landscape of the shown run arrived (already applied in landscapes()).
    void landscapePointsArrived(const qs::ui::LandscapePoints& points, double fraction);
    /// A landscape of the shown run ended or a training snapshot of it arrived; already in
    /// landscapes().
    void landscapeFinished(const qs::ui::LandscapeSurface& surface);
    /// A Hessian report of the shown run was recorded; already in hessianReports().
    void hessianAnalyzed(const qs::ui::HessianSummary& summary);

private:
    void onActiveRunChanged(qint64 runId);
    void onActiveLayerChanged(const QString& layer);
    void onRunStarted(qint64 runId, const QJsonObject& spec);
    void onMetricsAppended(qint64 runId, const QVector<MetricPoint>& points);
    void onLayerStatesUpdated(const LayerSnapshot& snapshot);
    void onHistogramUpdated(const WeightHistogram& histogram);
    void onProgressChanged(const JobProgress& progress);
    void onRunFinished(const RunEnd& end);
    void onSharpnessMeasured(qint64 runId, const QVector<SharpnessPoint>& figures);
    void onLandscapeStarted(const LandscapeSurface& surface);
    void onLandscapePointsArrived(const LandscapePoints& points, double fraction);
    void onLandscapeFinished(const LandscapeSurface& surface);
    void onHessianAnalyzed(const HessianSummary& summary);
    /// Replaces the landscape with the surface's id, or appends it; returns whether it was
    /// being computed (status "running") before.
    bool storeLandscape(const LandscapeSurface& surface);
    void requestHistogramIfLive();

    RunBackend* m_backend;
    SelectionHub* m_hub;
    qint64 m_shownId = 0;
    qint64 m_liveId = 0;
    bool m_liveRunning = false;
    RunData m_live;
    RunData m_stored;
    WeightHistogram m_histogram;
    QVector<LandscapeSurface> m_landscapes;
    QVector<HessianSummary> m_hessianReports;
};

}  // namespace qs::ui
