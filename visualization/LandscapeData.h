// Plain Qt value types for loss landscapes (ALGORITHMS.md section 7) and the display rules the
// 3D view, the heatmap and the curves share: how a loss becomes a colour and a height. No engine
// header, no VTK, no QCustomPlot.
#pragma once

#include <QColor>
#include <QMetaType>
#include <QPolygonF>
#include <QString>
#include <QVector>

#include <limits>

namespace qs::ui {

/// One loss landscape: f(alpha, beta) = L(w + alpha dx + beta dy) on an nx x ny grid, or a 1D
/// curve when ny == 1 (random direction or interpolation between two checkpoints).
struct LandscapeSurface {
    qint64 id = 0;     ///< the store's landscape id; live updates find their surface by it
    qint64 runId = 0;  ///< 0 for a loose checkpoint
    qint64 step = 0;   ///< training step of the evaluated checkpoint
    QString label;     ///< legend text, e.g. "LSQ W2A2"
    QString kind;      ///< the directions: "random", "hessian" or "interpolation"
    QString mode;      ///< "float", "dequantized", "quantize-after"
    /// "running" (being computed), "finished", "cancelled" or "interrupted" (resumable), "failed"
    QString status;
    quint64 seed = 0;  ///< seed of the random directions: snapshots with one seed are comparable
    int samples = 0;   ///< images of the evaluation subset
    int nx = 0;
    int ny = 0;
    double xMin = -1.0;        ///< alpha of column 0
    double xMax = 1.0;         ///< alpha of column nx - 1
    double yMin = -1.0;        ///< beta of row 0
    double yMax = 1.0;         ///< beta of row ny - 1
    QVector<double> loss;      ///< ny * nx values, x fastest; NaN = pending (not computed yet)
    QVector<double> accuracy;  ///< same layout, fractions in [0, 1]; NaN = pending

    /// True when the arrays hold nx * ny values and the grid has at least one point.
    bool isValid() const;
    /// A 1D landscape: one row, drawn as curves rather than as a surface.
    bool isCurve() const { return ny == 1; }
    /// Index into loss/accuracy of grid point (ix, iy).
    int index(int ix, int iy) const { return iy * nx + ix; }
    /// alpha of column ix and beta of row iy (the minimum for a one-point axis).
    double alphaAt(int ix) const;
    double betaAt(int iy) const;
    /// Number of points whose loss is not pending.
    int finishedCount() const;
};

/// Finished points of one landscape, streamed while it is computed.
struct LandscapePoints {
    struct Point {
        int ix = 0;
        int iy = 0;
        double loss = 0.0;
        double accuracy = 0.0;
    };
    qint64 id = 0;  ///< LandscapeSurface::id
    QVector<Point> points;
};

/// Writes `points` into `surface` if the ids match; points outside the grid are ignored.
/// Returns whether the surface changed.
bool applyLandscapePoints(LandscapeSurface& surface, const LandscapePoints& points);

/// How losses are shown: the same options in the 3D view, the heatmap and the curves.
struct LandscapeDisplay {
    /// Colour (and, in 3D, height) follow log10(loss) instead of the loss.
    bool logScale = false;
    /// Losses above this are shown as this value (a diverged corner would otherwise squash the
    /// interesting part of the surface); infinity = no clamp.
    double clampMax = std::numeric_limits<double>::infinity();

    /// The loss as drawn: clamped, and kept positive in log scale. NaN stays NaN.
    double shownLoss(double loss) const;
    /// shownLoss() mapped to the linear axis of heights and colours (log10 in log scale).
    double level(double loss) const;
};

/// Range of the shown losses over the finished points of some surfaces.
struct LandscapeRange {
    double lossMin = std::numeric_limits<double>::quiet_NaN();
    double lossMax = std::numeric_limits<double>::quiet_NaN();
    /// lossMin/lossMax mapped by LandscapeDisplay::level().
    double levelMin = std::numeric_limits<double>::quiet_NaN();
    double levelMax = std::numeric_limits<double>::quiet_NaN();

    /// False while no point is finished.
    bool isValid() const { return lossMin <= lossMax; }
    /// Where `loss` falls in the range, in [0, 1] (0.5 for a flat surface, NaN for pending).
    double fraction(double loss, const LandscapeDisplay& display) const;
};

/// The range of the shown losses of every finished point of `surfaces`.
LandscapeRange landscapeRange(const QVector<const LandscapeSurface*>& surfaces,
                              const LandscapeDisplay& display);

/// `count` contour levels spread evenly over the range in level units, returned as losses
/// (geometric steps in log scale), strictly inside the range.
QVector<double> landscapeContourLosses(const LandscapeRange& range, const LandscapeDisplay& display,
                                       int count);

/// The isolines of `surface` at loss `level` in (alpha, beta), by marching squares over the
/// cells whose four corners are finished, joined into polylines. Values are interpolated in
/// level units (log10 in log scale), like the colours.
QVector<QPolygonF> landscapeIsolines(const LandscapeSurface& surface,
                                     const LandscapeDisplay& display, double level);

/// The colour map of every landscape view: viridis (perceptually uniform, readable in grey and
/// under colour-vision deficiencies), dark purple at the minimum loss, yellow at the maximum.
/// t in [0, 1].
QColor landscapeColor(double t);
/// The control points of landscapeColor(), evenly spaced from t = 0 to t = 1.
QVector<QColor> landscapeColorStops();

}  // namespace qs::ui

Q_DECLARE_METATYPE(qs::ui::LandscapeSurface)
Q_DECLARE_METATYPE(qs::ui::LandscapePoints)
