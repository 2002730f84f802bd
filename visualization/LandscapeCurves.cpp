#include "visualization/LandscapeCurves.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

LandscapeCurves::LandscapeCurves(QWidget* parent) : PlotWidget(parent) {
    setObjectName(QStringLiteral("LandscapeCurves"));
    setEmptyText(tr("No 1D landscape selected"));
    QCustomPlot* plot = customPlot();
    plot->xAxis->setLabel(QStringLiteral("alpha"));
    plot->yAxis->setLabel(tr("loss"));
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setLabel(tr("accuracy"));
    setPercentTicks(plot->yAxis2);
}

LandscapeCurves::~LandscapeCurves() = default;

void LandscapeCurves::addSurface(const LandscapeSurface& surface) {
    if (!surface.isValid() || !surface.isCurve()) {
        return;
    }
    auto it = m_curves.find(surface.id);
    if (it == m_curves.end()) {
        Curve curve;
        curve.colorIndex = freeColorIndex();
        const QColor color = PlotStyle::seriesColor(curve.colorIndex);
        QCustomPlot* plot = customPlot();
        curve.loss = plot->addGraph(plot->xAxis, plot->yAxis);
        curve.loss->setPen(QPen(color, 2.0));
        curve.accuracy = plot->addGraph(plot->xAxis, plot->yAxis2);
        curve.accuracy->setPen(QPen(PlotStyle::lighter(color, 0.35), 1.5, Qt::DashLine));
        curve.accuracy->removeFromLegend();
        it = m_curves.insert(surface.id, curve);
        m_order.append(surface.id);
    }
    it->surface = surface;
    const QString label =
        surface.label.isEmpty() ? tr("landscape %1").arg(surface.id) : surface.label;
    it->loss->setName(label);
    it->accuracy->setName(tr("%1 accuracy").arg(label));
    fillGraphs(*it);
    setLegendAbove(true, 4);
    dataChanged();
}

void LandscapeCurves::removeSurface(qint64 id) {
    auto it = m_curves.find(id);
    if (it == m_curves.end()) {
        return;
    }
    customPlot()->removeGraph(it->loss);
    customPlot()->removeGraph(it->accuracy);
    m_curves.erase(it);
    m_order.removeAll(id);
    setLegendAbove(!m_curves.isEmpty(), 4);
    dataChanged();
}

void LandscapeCurves::clear() {
    for (const Curve& curve : std::as_const(m_curves)) {
        customPlot()->removeGraph(curve.loss);
        customPlot()->removeGraph(curve.accuracy);
    }
    m_curves.clear();
    m_order.clear();
    setLegendAbove(false, 4);
    enableAutoRange();
    dataChanged();
}

void LandscapeCurves::applyPoints(const LandscapePoints& points) {
    auto it = m_curves.find(points.id);
    if (it != m_curves.end() && applyLandscapePoints(it->surface, points)) {
        fillGraphs(*it);
        dataChanged();
    }
}

void LandscapeCurves::setLogScale(bool on) {
    m_logScale = on;
    QCPAxis* axis = customPlot()->yAxis;
    if (on) {
        setLogTicks(axis);
    } else {
        axis->setScaleType(QCPAxis::stLinear);
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    dataChanged();
}

bool LandscapeCurves::hasData() const {
    return std::any_of(m_curves.begin(), m_curves.end(),
                       [](const Curve& c) { return c.surface.finishedCount() > 0; });
}

void LandscapeCurves::fitRanges() {
    double xLo = std::numeric_limits<double>::infinity();
    double xHi = -xLo;
    double lossLo = xLo;
    double lossHi = -xLo;
    for (const Curve& curve : std::as_const(m_curves)) {
        xLo = std::min({xLo, curve.surface.xMin, curve.surface.xMax});
        xHi = std::max({xHi, curve.surface.xMin, curve.surface.xMax});
        for (double loss : curve.surface.loss) {
            if (std::isfinite(loss) && (!m_logScale || loss > 0.0)) {
                lossLo = std::min(lossLo, loss);
                lossHi = std::max(lossHi, loss);
            }
        }
    }
    QCustomPlot* plot = customPlot();
    if (xLo < xHi) {
        plot->xAxis->setRange(xLo, xHi);
    }
    if (lossLo <= lossHi) {
        if (m_logScale) {
            plot->yAxis->setRange(lossLo / 1.2, lossHi * 1.2);
        } else {
            const double pad = std::max(0.05 * (lossHi - lossLo), 1e-6);
            plot->yAxis->setRange(std::max(0.0, lossLo - pad), lossHi + pad);
        }
    }
    plot->yAxis2->setRange(0.0, 1.0);
}

void LandscapeCurves::fillGraphs(const Curve& curve) {
    QVector<double> keys;
    QVector<double> losses;
    QVector<double> accuracies;
    const LandscapeSurface& s = curve.surface;
    for (int ix = 0; ix < s.nx; ++ix) {
        if (std::isnan(s.loss[ix])) {
            continue;  // pending: the line joins the finished points (coarse-to-fine order)
        }
        keys.append(s.alphaAt(ix));
        losses.append(s.loss[ix]);
        accuracies.append(s.accuracy[ix]);
    }
    curve.loss->setData(keys, losses, true);
    curve.accuracy->setData(keys, accuracies, true);
}

int LandscapeCurves::freeColorIndex() const {
    for (int i = 0; i < PlotStyle::kSeriesColorCount; ++i) {
        const bool taken = std::any_of(m_curves.begin(), m_curves.end(),
                                       [i](const Curve& c) { return c.colorIndex == i; });
        if (!taken) {
            return i;
        }
    }
    return m_curves.size();
}

}  // namespace qs::ui
