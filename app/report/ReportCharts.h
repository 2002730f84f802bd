// The report's figures, drawn with QPainter into QImages. Not QCustomPlot: its plots are
// QWidgets, which need a QApplication, and a report must render with only a QGuiApplication
// (headless CLI, no display).
#pragma once

#include <QColor>
#include <QImage>
#include <QPointF>
#include <QSize>
#include <QString>

#include <vector>

namespace qs::report {

/// One line of a chart; non-finite points are skipped.
struct ChartSeries {
    QString name;
    QColor color;
    std::vector<QPointF> points;
};

/// The i-th colour of the report's palette (distinct for the first eight).
QColor seriesColor(int index);

/// A line chart with axes, ticks, grid and a legend. A null image when no series has a finite
/// point.
QImage lineChart(const QString& title, const QString& xLabel, const QString& yLabel,
                 const std::vector<ChartSeries>& series, QSize size = QSize(720, 320));

/// A heatmap of ny x nx values (x fastest, row 0 at yMin at the bottom) with a colour bar; NaN
/// cells (not computed) are grey. The colour scale is logarithmic when the positive values span
/// more than a factor of 20, as a landscape's edges do, so the basin stays readable. A white
/// cross marks (0, 0), the checkpoint itself. A null image when no value is finite.
QImage heatmap(const QString& title, int nx, int ny, double xMin, double xMax, double yMin,
               double yMax, const std::vector<double>& values, QSize size = QSize(560, 460));

}  // namespace qs::report
