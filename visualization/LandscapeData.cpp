#include "visualization/LandscapeData.h"

#include <QHash>
#include <QtGlobal>

#include <algorithm>
#include <array>
#include <cmath>

namespace qs::ui {

namespace {

// Smallest loss shown in log scale: log10 of a loss of exactly 0 would be -inf.
constexpr double kLogFloor = 1e-12;

// Viridis (matplotlib) at t = 0, 1/8, ..., 1.
constexpr std::array<QRgb, 9> kViridis = {0x440154, 0x472c7a, 0x3b528b, 0x2c728e, 0x21918c,
                                          0x28ae80, 0x5ec962, 0xaddc30, 0xfde725};

double axisValue(double min, double max, int i, int count) {
    return count > 1 ? min + (max - min) * i / (count - 1) : min;
}

}  // namespace

bool LandscapeSurface::isValid() const {
    const qsizetype points = static_cast<qsizetype>(nx) * ny;
    return nx > 0 && ny > 0 && loss.size() == points && accuracy.size() == points;
}

double LandscapeSurface::alphaAt(int ix) const {
    return axisValue(xMin, xMax, ix, nx);
}

double LandscapeSurface::betaAt(int iy) const {
    return axisValue(yMin, yMax, iy, ny);
}

int LandscapeSurface::finishedCount() const {
    return static_cast<int>(
        std::count_if(loss.begin(), loss.end(), [](double v) { return !std::isnan(v); }));
}

bool applyLandscapePoints(LandscapeSurface& surface, const LandscapePoints& points) {
    if (points.id != surface.id || !surface.isValid()) {
        return false;
    }
    bool changed = false;
    for (const LandscapePoints::Point& p : points.points) {
        if (p.ix < 0 || p.ix >= surface.nx || p.iy < 0 || p.iy >= surface.ny) {
            continue;
        }
        const int i = surface.index(p.ix, p.iy);
        surface.loss[i] = p.loss;
        surface.accuracy[i] = p.accuracy;
        changed = true;
    }
    return changed;
}

double LandscapeDisplay::shownLoss(double loss) const {
    if (std::isnan(loss)) {
        return loss;
    }
    double v = std::min(loss, clampMax);
    if (logScale) {
        v = std::max(v, kLogFloor);
    }
    return v;
}

double LandscapeDisplay::level(double loss) const {
    const double v = shownLoss(loss);
    return logScale ? std::log10(v) : v;
}

double LandscapeRange::fraction(double loss, const LandscapeDisplay& display) const {
    if (std::isnan(loss) || !isValid()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    const double span = levelMax - levelMin;
    if (!(span > 0.0)) {
        return 0.5;
    }
    return std::clamp((display.level(loss) - levelMin) / span, 0.0, 1.0);
}

LandscapeRange landscapeRange(const QVector<const LandscapeSurface*>& surfaces,
                              const LandscapeDisplay& display) {
    LandscapeRange range;
    double lo = std::numeric_limits<double>::infinity();
    double hi = -std::numeric_limits<double>::infinity();
    for (const LandscapeSurface* surface : surfaces) {
        for (double loss : surface->loss) {
            const double v = display.shownLoss(loss);
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    }
    if (lo <= hi) {
        range.lossMin = lo;
        range.lossMax = hi;
        range.levelMin = display.level(lo);
        range.levelMax = display.level(hi);
    }
    return range;
}

QVector<double> landscapeContourLosses(const LandscapeRange& range, const LandscapeDisplay& display,
                                       int count) {
    QVector<double> losses;
    if (!range.isValid() || count <= 0 || !(range.levelMax > range.levelMin)) {
        return losses;
    }
    const double step = (range.levelMax - range.levelMin) / (count + 1);
    for (int i = 1; i <= count; ++i) {
        const double level = range.levelMin + step * i;
        losses.append(display.logScale ? std::pow(10.0, level) : level);
    }
    return losses;
}

QVector<QPolygonF> landscapeIsolines(const LandscapeSurface& surface,
                                     const LandscapeDisplay& display, double level) {
    QVector<QPolygonF> lines;
    if (!surface.isValid() || surface.nx < 2 || surface.ny < 2) {
        return lines;
    }
    const double target = display.level(level);
    const int nx = surface.nx;
    auto value = [&](int ix, int iy) { return display.level(surface.loss[surface.index(ix, iy)]); };
    // Edges are numbered globally so that the segments of neighbouring cells meet on the same
    // id: 2 * point + 0 for the edge to the right of a grid point, + 1 for the edge above it.
    auto horizontal = [&](int ix, int iy) { return 2 * (iy * nx + ix); };
    auto vertical = [&](int ix, int iy) { return 2 * (iy * nx + ix) + 1; };
    QHash<int, QPointF> crossing;
    auto cross = [&](int edge, int ax, int ay, int bx, int by) {
        const double va = value(ax, ay);
        const double vb = value(bx, by);
        const double f = vb != va ? (target - va) / (vb - va) : 0.5;
        const double alpha = surface.alphaAt(ax) + f * (surface.alphaAt(bx) - surface.alphaAt(ax));
        const double beta = surface.betaAt(ay) + f * (surface.betaAt(by) - surface.betaAt(ay));
        crossing.insert(edge, QPointF(alpha, beta));
        return edge;
    };
    QVector<std::pair<int, int>> segments;
    for (int iy = 0; iy + 1 < surface.ny; ++iy) {
        for (int ix = 0; ix + 1 < nx; ++ix) {
            const double v[4] = {value(ix, iy), value(ix + 1, iy), value(ix + 1, iy + 1),
                                 value(ix, iy + 1)};
            if (std::any_of(std::begin(v), std::end(v), [](double x) { return std::isnan(x); })) {
                continue;
            }
            const bool below[4] = {v[0] < target, v[1] < target, v[2] < target, v[3] < target};
            // Edges of the cell: 0 bottom, 1 right, 2 top, 3 left; each crossed edge once.
            int edge[4] = {-1, -1, -1, -1};
            if (below[0] != below[1]) {
                edge[0] = cross(horizontal(ix, iy), ix, iy, ix + 1, iy);
            }
            if (below[1] != below[2]) {
                edge[1] = cross(vertical(ix + 1, iy), ix + 1, iy, ix + 1, iy + 1);
            }
            if (below[3] != below[2]) {
                edge[2] = cross(horizontal(ix, iy + 1), ix, iy + 1, ix + 1, iy + 1);
            }
            if (below[0] != below[3]) {
                edge[3] = cross(vertical(ix, iy), ix, iy, ix, iy + 1);
            }
            const int crossed = static_cast<int>(
                std::count_if(std::begin(edge), std::end(edge), [](int e) { return e >= 0; }));
            if (crossed == 2) {
                int ends[2];
                int n = 0;
                for (int e : edge) {
                    if (e >= 0) {
                        ends[n++] = e;
                    }
                }
                segments.append({ends[0], ends[1]});
            } else if (crossed == 4) {
                // A saddle: the cell centre decides which corners the lines cut off.
                const bool centreBelow = (v[0] + v[1] + v[2] + v[3]) / 4.0 < target;
                if (centreBelow == below[0]) {
                    segments.append({edge[0], edge[1]});  // around corner 1
                    segments.append({edge[2], edge[3]});  // around corner 3
                } else {
                    segments.append({edge[0], edge[3]});  // around corner 0
                    segments.append({edge[1], edge[2]});  // around corner 2
                }
            }
        }
    }
    // Join the segments that share an edge into polylines (an edge borders two cells at most).
    QHash<int, QVector<int>> byEdge;
    for (int i = 0; i < segments.size(); ++i) {
        byEdge[segments[i].first].append(i);
        byEdge[segments[i].second].append(i);
    }
    QVector<bool> used(segments.size(), false);
    auto follow = [&](int edge, QVector<int>& chain) {
        for (;;) {
            int next = -1;
            for (int s : byEdge.value(edge)) {
                if (!used[s]) {
                    next = s;
                    break;
                }
            }
            if (next < 0) {
                return;
            }
            used[next] = true;
            edge = segments[next].first == edge ? segments[next].second : segments[next].first;
            chain.append(edge);
        }
    };
    for (int i = 0; i < segments.size(); ++i) {
        if (used[i]) {
            continue;
        }
        used[i] = true;
        QVector<int> forward{segments[i].second};
        follow(segments[i].second, forward);
        QVector<int> backward{segments[i].first};
        follow(segments[i].first, backward);
        QPolygonF line;
        for (auto it = backward.rbegin(); it != backward.rend(); ++it) {
            line.append(crossing.value(*it));
        }
        for (int e : forward) {
            line.append(crossing.value(e));
        }
        lines.append(line);
    }
    return lines;
}

QColor landscapeColor(double t) {
    const double x = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (kViridis.size() - 1);
    const size_t i = std::min(static_cast<size_t>(x), kViridis.size() - 2);
    const double f = x - static_cast<double>(i);
    const QColor a = QColor::fromRgb(kViridis[i]);
    const QColor b = QColor::fromRgb(kViridis[i + 1]);
    return QColor(qRound(a.red() + (b.red() - a.red()) * f),
                  qRound(a.green() + (b.green() - a.green()) * f),
                  qRound(a.blue() + (b.blue() - a.blue()) * f));
}

QVector<QColor> landscapeColorStops() {
    QVector<QColor> stops;
    for (QRgb rgb : kViridis) {
        stops.append(QColor::fromRgb(rgb));
    }
    return stops;
}

}  // namespace qs::ui
