#include "visualization/LogAxisFit.h"

#include "visualization/PlotStyle.h"

#include <QCoreApplication>

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

LogAxisFit LogAxisFit::fit(const QVector<double>& values, double headroomDecades,
                           bool reserveClampRoom) {
    double lo = std::numeric_limits<double>::infinity();
    double hi = 0.0;
    for (double v : values) {
        if (v > 0.0 && std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    double bottom = -1.0;  // decades
    double top = 1.0;
    if (hi > 0.0) {
        bottom = std::floor(std::log10(lo));
        top = std::ceil(std::log10(hi) + headroomDecades);
        top = std::max(top, bottom + 1.0);
    }
    LogAxisFit result;
    if (reserveClampRoom) {
        bottom -= 1.0;
    }
    result.lower = std::pow(10.0, bottom);
    result.upper = std::pow(10.0, top);
    result.clampValue = reserveClampRoom ? std::pow(10.0, bottom + 0.5) : result.lower;
    return result;
}

QString clampedSeriesName() {
    return QCoreApplication::translate("qs::ui::LogAxisFit", "\u2264 0 (clamped)");
}

QCPGraph* addClampedMarkers(QCustomPlot* plot) {
    QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis);
    graph->setName(clampedSeriesName());
    graph->setLineStyle(QCPGraph::lsNone);
    const QPen pen(PlotStyle::textColor(), 1.6);
    graph->setPen(pen);
    graph->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssTriangleInverted, pen, Qt::white, 10));
    return graph;
}

}  // namespace qs::ui
