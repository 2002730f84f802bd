// LogAxisFit: how the sensitivity charts put values that span orders of magnitude on a log axis,
// including the ones a log axis cannot show. Hessian traces are Hutchinson estimates and can come
// out zero or negative (and so can the Omegas and their sums made from them); such values are not
// dropped but drawn clamped at a fixed height half a decade above the axis bottom, below every
// positive value, with a marker of their own that the legend names.
#pragma once

#include <QString>
#include <QVector>

class QCustomPlot;
class QCPGraph;

namespace qs::ui {

struct LogAxisFit {
    double lower = 0.1;  ///< axis range in whole decades
    double upper = 10.0;
    /// Where a non-positive value is drawn: half a decade above `lower` when room was reserved.
    double clampValue = 0.1;

    /// Whole decades around the positive entries of `values` (the others are ignored), with
    /// `headroomDecades` above the largest; one more decade below the smallest when
    /// `reserveClampRoom`, to draw clamped values in. No positive value: [0.1, 10].
    static LogAxisFit fit(const QVector<double>& values, double headroomDecades,
                          bool reserveClampRoom);

    /// `value` itself, or clampValue when the log axis cannot show it.
    double shown(double value) const { return value > 0.0 ? value : clampValue; }
};

/// The legend name of the clamped values' series: "≤ 0 (clamped)".
QString clampedSeriesName();

/// A marker-only graph on the plot's x and y axes for values drawn at LogAxisFit::clampValue:
/// hollow downward triangles in the text colour, named clampedSeriesName().
QCPGraph* addClampedMarkers(QCustomPlot* plot);

}  // namespace qs::ui
