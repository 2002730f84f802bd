#include "visualization/LandscapeHeatmap.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

LandscapeHeatmap::LandscapeHeatmap(QWidget* parent) : PlotWidget(parent) {
    setObjectName(QStringLiteral("LandscapeHeatmap"));
    setEmptyText(tr("No landscape selected"));
    QCustomPlot* plot = customPlot();
    plot->xAxis->setLabel(QStringLiteral("alpha"));
    plot->yAxis->setLabel(QStringLiteral("beta"));
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setVisible(false);

    m_map = new QCPColorMap(plot->xAxis, plot->yAxis);
    m_map->setInterpolate(true);
    m_map->setTightBoundary(false);
    QCPColorGradient gradient;
    gradient.clearColorStops();
    const QVector<QColor> stops = landscapeColorStops();
    for (int i = 0; i < stops.size(); ++i) {
        gradient.setColorStopAt(static_cast<double>(i) / (stops.size() - 1), stops[i]);
    }
    gradient.setColorInterpolation(QCPColorGradient::ciRGB);
    gradient.setNanHandling(QCPColorGradient::nhTransparent);  // pending cells: background

    m_scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(0, 1, m_scale);
    m_scale->setType(QCPAxis::atRight);
    m_scale->setBarWidth(14);
    m_scale->axis()->setLabel(tr("loss"));
    styleAxis(m_scale->axis());
    // The map takes its gradient from the scale it is attached to.
    m_map->setColorScale(m_scale);
    m_scale->setGradient(gradient);
    // Keep the colour bar as tall as the map.
    auto* margins = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_scale->setVisible(false);
}

LandscapeHeatmap::~LandscapeHeatmap() = default;

void LandscapeHeatmap::setSurface(const LandscapeSurface& surface) {
    m_surface = surface;
    enableAutoRange();
    rebuild();
}

void LandscapeHeatmap::clear() {
    setSurface(LandscapeSurface());
}

void LandscapeHeatmap::applyPoints(const LandscapePoints& points) {
    if (applyLandscapePoints(m_surface, points)) {
        rebuild();
    }
}

void LandscapeHeatmap::setLogScale(bool on) {
    if (m_display.logScale != on) {
        m_display.logScale = on;
        rebuild();
    }
}

void LandscapeHeatmap::setClampMax(double maxLoss) {
    m_display.clampMax = std::isnan(maxLoss) ? std::numeric_limits<double>::infinity() : maxLoss;
    rebuild();
}

void LandscapeHeatmap::setContoursVisible(bool on) {
    if (m_contoursVisible != on) {
        m_contoursVisible = on;
        rebuild();
    }
}

void LandscapeHeatmap::setContourCount(int count) {
    m_contourCount = std::max(count, 0);
    rebuild();
}

void LandscapeHeatmap::setSharedRange(double lossMin, double lossMax) {
    m_sharedMin = lossMin;
    m_sharedMax = lossMax;
    rebuild();
}

LandscapeRange LandscapeHeatmap::range() const {
    if (!std::isnan(m_sharedMin) && !std::isnan(m_sharedMax)) {
        LandscapeRange shared;
        shared.lossMin = m_display.shownLoss(m_sharedMin);
        shared.lossMax = m_display.shownLoss(m_sharedMax);
        shared.levelMin = m_display.level(m_sharedMin);
        shared.levelMax = m_display.level(m_sharedMax);
        return shared;
    }
    return landscapeRange({&m_surface}, m_display);
}

double LandscapeHeatmap::cellValue(int ix, int iy) const {
    if (!drawable() || ix < 0 || iy < 0 || ix >= m_surface.nx || iy >= m_surface.ny) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    return m_map->data()->cell(ix, iy);
}

bool LandscapeHeatmap::isColorScaleLogarithmic() const {
    return m_scale->dataScaleType() == QCPAxis::stLogarithmic;
}

bool LandscapeHeatmap::hasData() const {
    return drawable() && m_surface.finishedCount() > 0;
}

void LandscapeHeatmap::fitRanges() {
    if (!drawable()) {
        return;
    }
    // Cells are centred on the grid points: the map reaches half a cell beyond them.
    const double dx = m_surface.nx > 1 ? (m_surface.xMax - m_surface.xMin) / (m_surface.nx - 1) : 1;
    const double dy = m_surface.ny > 1 ? (m_surface.yMax - m_surface.yMin) / (m_surface.ny - 1) : 1;
    QCustomPlot* plot = customPlot();
    plot->xAxis->setRange(m_surface.xMin - dx / 2, m_surface.xMax + dx / 2);
    plot->yAxis->setRange(m_surface.yMin - dy / 2, m_surface.yMax + dy / 2);
}

void LandscapeHeatmap::plotClicked(const QPoint& pos) {
    if (!drawable()) {
        return;
    }
    QCustomPlot* plot = customPlot();
    int ix = 0;
    int iy = 0;
    m_map->data()->coordToCell(plot->xAxis->pixelToCoord(pos.x()),
                               plot->yAxis->pixelToCoord(pos.y()), &ix, &iy);
    if (ix < 0 || iy < 0 || ix >= m_surface.nx || iy >= m_surface.ny) {
        return;
    }
    const int i = m_surface.index(ix, iy);
    if (std::isnan(m_surface.loss[i])) {
        return;
    }
    Q_EMIT pointPicked(ix, iy, m_surface.alphaAt(ix), m_surface.betaAt(iy), m_surface.loss[i],
                       m_surface.accuracy[i]);
}

void LandscapeHeatmap::rebuild() {
    QCPColorMapData* data = m_map->data();
    if (!drawable()) {
        data->clear();
        m_scale->setVisible(false);
        rebuildContours(LandscapeRange());
        dataChanged();
        return;
    }
    data->setSize(m_surface.nx, m_surface.ny);
    data->setRange(QCPRange(m_surface.xMin, m_surface.xMax),
                   QCPRange(m_surface.yMin, m_surface.yMax));
    for (int iy = 0; iy < m_surface.ny; ++iy) {
        for (int ix = 0; ix < m_surface.nx; ++ix) {
            data->setCell(ix, iy, m_display.shownLoss(m_surface.loss[m_surface.index(ix, iy)]));
        }
    }
    const LandscapeRange r = range();
    const bool log = m_display.logScale;
    m_scale->setDataScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
    if (log) {
        setLogTicks(m_scale->axis());
    } else {
        m_scale->axis()->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    if (r.isValid()) {
        const double hi = r.lossMax > r.lossMin ? r.lossMax : r.lossMin + (log ? r.lossMin : 1.0);
        m_scale->setDataRange(QCPRange(r.lossMin, hi));
    }
    m_scale->setVisible(r.isValid());
    rebuildContours(r);
    dataChanged();
}

void LandscapeHeatmap::rebuildContours(const LandscapeRange& range) {
    QCustomPlot* plot = customPlot();
    for (QCPCurve* curve : m_contourCurves) {
        plot->removePlottable(curve);
    }
    m_contourCurves.clear();
    if (!m_contoursVisible || !range.isValid()) {
        return;
    }
    const QPen pen(QColor(255, 255, 255, 150), 1.0);
    for (double level : landscapeContourLosses(range, m_display, m_contourCount)) {
        for (const QPolygonF& line : landscapeIsolines(m_surface, m_display, level)) {
            auto* curve = new QCPCurve(plot->xAxis, plot->yAxis);
            QVector<double> keys;
            QVector<double> values;
            for (const QPointF& p : line) {
                keys.append(p.x());
                values.append(p.y());
            }
            curve->setData(keys, values);
            curve->setPen(pen);
            curve->setSelectable(QCP::stNone);
            curve->removeFromLegend();
            m_contourCurves.append(curve);
        }
    }
}

}  // namespace qs::ui
