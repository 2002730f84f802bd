#include "app/report/ReportCharts.h"

#include <QFont>
#include <QFontMetrics>
#include <QPainter>
#include <QPainterPath>
#include <QPen>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qs::report {

namespace {

/// About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart).
std::vector<double> niceTicks(double lo, double hi, int count) {
    std::vector<double> ticks;
    if (!(hi > lo) || count < 1) {
        return ticks;
    }
    const double raw = (hi - lo) / count;
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    double step = magnitude;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        if (m * magnitude >= raw) {
            step = m * magnitude;
            break;
        }
    }
    for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
        ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
    }
    return ticks;
}

QString tickText(double v) {
    return QString::number(v, 'g', 4);
}

QFont chartFont(int pixelSize, bool bold = false) {
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setPixelSize(pixelSize);
    f.setBold(bold);
    return f;
}

/// Viridis, sampled at 6 points and interpolated linearly: perceptually ordered and readable in
/// grey print.
QColor viridis(double t) {
    static const QColor stops[] = {QColor(68, 1, 84),    QColor(65, 68, 135),
                                   QColor(42, 120, 142), QColor(34, 168, 132),
                                   QColor(122, 209, 81), QColor(253, 231, 37)};
    constexpr int n = 6;
    t = std::clamp(t, 0.0, 1.0) * (n - 1);
    const int i = std::min(int(t), n - 2);
    const double f = t - i;
    const QColor& a = stops[i];
    const QColor& b = stops[i + 1];
    return QColor(int(a.red() + f * (b.red() - a.red())),
                  int(a.green() + f * (b.green() - a.green())),
                  int(a.blue() + f * (b.blue() - a.blue())));
}

/// Widens a degenerate range so a flat series still gets an axis.
void widen(double& lo, double& hi) {
    if (hi > lo) {
        return;
    }
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
}

void drawTitle(QPainter& p, const QRect& area, const QString& title) {
    p.setFont(chartFont(14, true));
    p.setPen(Qt::black);
    p.drawText(area, Qt::AlignHCenter | Qt::AlignTop, title);
}

}  // namespace

QColor seriesColor(int index) {
    static const QColor palette[] = {
        QColor(31, 119, 180),  QColor(214, 39, 40), QColor(44, 160, 44),   QColor(255, 127, 14),
        QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127)};
    return palette[std::abs(index) % 8];
}

QImage lineChart(const QString& title, const QString& xLabel, const QString& yLabel,
                 const std::vector<ChartSeries>& series, QSize size) {
    double xLo = std::numeric_limits<double>::infinity(), xHi = -xLo;
    double yLo = xLo, yHi = -xLo;
    for (const ChartSeries& s : series) {
        for (const QPointF& pt : s.points) {
            if (std::isfinite(pt.x()) && std::isfinite(pt.y())) {
                xLo = std::min(xLo, pt.x());
                xHi = std::max(xHi, pt.x());
                yLo = std::min(yLo, pt.y());
                yHi = std::max(yHi, pt.y());
            }
        }
    }
    if (!std::isfinite(xLo)) {
        return {};
    }
    widen(xLo, xHi);
    widen(yLo, yHi);
    const double yPad = (yHi - yLo) * 0.05;
    yLo -= yPad;
    yHi += yPad;

    QImage image(size, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    drawTitle(p, QRect(0, 6, size.width(), 24), title);
    // The legend sits in a row under the title, never over the curves.
    const QRectF plot(72, 56, size.width() - 72 - 18, size.height() - 56 - 48);
    auto mapX = [&](double x) { return plot.left() + (x - xLo) / (xHi - xLo) * plot.width(); };
    auto mapY = [&](double y) { return plot.bottom() - (y - yLo) / (yHi - yLo) * plot.height(); };

    p.setFont(chartFont(11));
    const QFontMetrics fm(p.font());
    for (double t : niceTicks(xLo, xHi, 6)) {
        const double x = mapX(t);
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()));
        p.setPen(Qt::black);
        const QString text = tickText(t);
        p.drawText(QPointF(x - fm.horizontalAdvance(text) / 2.0, plot.bottom() + fm.ascent() + 4),
                   text);
    }
    for (double t : niceTicks(yLo, yHi, 5)) {
        const double y = mapY(t);
        p.setPen(QPen(QColor(225, 225, 225), 1));
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(Qt::black);
        const QString text = tickText(t);
        p.drawText(QPointF(plot.left() - fm.horizontalAdvance(text) - 5, y + fm.ascent() / 2.5),
                   text);
    }
    p.setPen(QPen(Qt::black, 1));
    p.drawRect(plot);
    p.drawText(QRectF(plot.left(), size.height() - 22, plot.width(), 20), Qt::AlignCenter, xLabel);
    p.save();
    p.translate(16, plot.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-plot.height() / 2, -10, plot.height(), 20), Qt::AlignCenter, yLabel);
    p.restore();

    p.setClipRect(plot.adjusted(-3, -3, 3, 3));
    for (const ChartSeries& s : series) {
        QPainterPath path;
        int drawn = 0;
        for (const QPointF& pt : s.points) {
            if (!std::isfinite(pt.x()) || !std::isfinite(pt.y())) {
                continue;
            }
            const QPointF q(mapX(pt.x()), mapY(pt.y()));
            drawn == 0 ? path.moveTo(q) : path.lineTo(q);
            ++drawn;
        }
        p.setPen(QPen(s.color, 2));
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
        // Few points (evaluations once per epoch) read better as markers than as a bare line.
        if (drawn <= 30) {
            p.setBrush(s.color);
            for (const QPointF& pt : s.points) {
                if (std::isfinite(pt.x()) && std::isfinite(pt.y())) {
                    p.drawEllipse(QPointF(mapX(pt.x()), mapY(pt.y())), 3, 3);
                }
            }
        }
    }
    p.setClipping(false);

    int legendWidth = 0;
    for (const ChartSeries& s : series) {
        legendWidth += 20 + 6 + fm.horizontalAdvance(s.name) + 18;
    }
    double lx = std::max(plot.left(), (size.width() - legendWidth) / 2.0);
    const double ly = 32;
    for (const ChartSeries& s : series) {
        p.setPen(QPen(s.color, 3));
        p.drawLine(QPointF(lx, ly + fm.height() / 2.0), QPointF(lx + 20, ly + fm.height() / 2.0));
        p.setPen(Qt::black);
        p.drawText(QPointF(lx + 26, ly + fm.ascent()), s.name);
        lx += 20 + 6 + fm.horizontalAdvance(s.name) + 18;
    }
    return image;
}

QImage heatmap(const QString& title, int nx, int ny, double xMin, double xMax, double yMin,
               double yMax, const std::vector<double>& values, QSize size) {
    if (nx < 1 || ny < 1 || values.size() != std::size_t(nx) * std::size_t(ny)) {
        return {};
    }
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values) {
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
    }
    if (!std::isfinite(lo)) {
        return {};
    }
    const bool logScale = lo > 0.0 && hi / lo > 20.0;
    auto scaled = [&](double v) { return logScale ? std::log10(v) : v; };
    double sLo = scaled(lo), sHi = scaled(hi);
    widen(sLo, sHi);
    widen(xMin, xMax);
    widen(yMin, yMax);

    QImage image(size, QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    drawTitle(p, QRect(0, 6, size.width(), 24), title);
    const QRectF plot(64, 34, size.width() - 64 - 110, size.height() - 34 - 48);
    const double cw = plot.width() / nx;
    const double ch = plot.height() / ny;
    for (int j = 0; j < ny; ++j) {
        for (int i = 0; i < nx; ++i) {
            const double v = values[std::size_t(j) * nx + i];
            const QColor c =
                std::isfinite(v) ? viridis((scaled(v) - sLo) / (sHi - sLo)) : QColor(200, 200, 200);
            // Row 0 is yMin, drawn at the bottom as on a y axis that grows upwards.
            p.fillRect(
                QRectF(plot.left() + i * cw, plot.bottom() - (j + 1) * ch, cw + 0.5, ch + 0.5), c);
        }
    }
    p.setRenderHint(QPainter::Antialiasing);
    // Cell centres span [xMin, xMax]: map a coordinate to the centre of its cell.
    auto mapX = [&](double x) {
        return plot.left() + cw / 2 + (x - xMin) / (xMax - xMin) * (plot.width() - cw);
    };
    auto mapY = [&](double y) {
        return plot.bottom() - ch / 2 - (y - yMin) / (yMax - yMin) * (plot.height() - ch);
    };
    if (xMin <= 0.0 && 0.0 <= xMax && yMin <= 0.0 && 0.0 <= yMax) {
        const QPointF c(mapX(0.0), mapY(0.0));
        p.setPen(QPen(Qt::white, 2));
        p.drawLine(c - QPointF(6, 0), c + QPointF(6, 0));
        p.drawLine(c - QPointF(0, 6), c + QPointF(0, 6));
    }
    p.setPen(QPen(Qt::black, 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(plot);
    p.setFont(chartFont(11));
    const QFontMetrics fm(p.font());
    for (double t : niceTicks(xMin, xMax, 5)) {
        const QString text = tickText(t);
        p.drawText(
            QPointF(mapX(t) - fm.horizontalAdvance(text) / 2.0, plot.bottom() + fm.ascent() + 4),
            text);
    }
    for (double t : niceTicks(yMin, yMax, 5)) {
        const QString text = tickText(t);
        p.drawText(
            QPointF(plot.left() - fm.horizontalAdvance(text) - 5, mapY(t) + fm.ascent() / 2.5),
            text);
    }
    p.drawText(QRectF(plot.left(), size.height() - 22, plot.width(), 20), Qt::AlignCenter,
               QStringLiteral("a (direction x)"));
    p.save();
    p.translate(16, plot.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-plot.height() / 2, -10, plot.height(), 20), Qt::AlignCenter,
               QStringLiteral("b (direction y)"));
    p.restore();

    // Colour bar with the loss values at its ends and middle.
    const QRectF bar(plot.right() + 18, plot.top(), 18, plot.height());
    for (int k = 0; k < int(bar.height()); ++k) {
        p.fillRect(QRectF(bar.left(), bar.bottom() - k - 1, bar.width(), 1.5),
                   viridis(double(k) / bar.height()));
    }
    p.drawRect(bar);
    for (double f : {0.0, 0.5, 1.0}) {
        const double s = sLo + f * (sHi - sLo);
        const double v = logScale ? std::pow(10.0, s) : s;
        p.drawText(QPointF(bar.right() + 4, bar.bottom() - f * bar.height() + fm.ascent() / 2.5),
                   tickText(v));
    }
    p.save();
    p.translate(size.width() - 8, plot.center().y());
    p.rotate(-90);
    p.drawText(QRectF(-plot.height() / 2, -14, plot.height(), 16), Qt::AlignCenter,
               logScale ? QStringLiteral("loss (log colour scale)") : QStringLiteral("loss"));
    p.restore();
    return image;
}

}  // namespace qs::report
