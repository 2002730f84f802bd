#include "visualization/PlotStyle.h"

#include <QtGlobal>

#include <algorithm>
#include <array>
#include <cmath>

namespace qs::ui {

QColor PlotStyle::seriesColor(int index) {
    static const std::array<QRgb, kSeriesColorCount> kColors = {
        0x1f77b4,  // blue
        0xff7f0e,  // orange
        0x2ca02c,  // green
        0xd62728,  // red
        0x9467bd,  // purple
        0x8c564b,  // brown
        0xe377c2,  // pink
        0x17becf,  // cyan
    };
    const int wrapped = ((index % kSeriesColorCount) + kSeriesColorCount) % kSeriesColorCount;
    return QColor::fromRgb(kColors[static_cast<size_t>(wrapped)]);
}

QColor PlotStyle::lighter(const QColor& color, double amount) {
    const double a = std::clamp(amount, 0.0, 1.0);
    auto mix = [a](int channel) { return qRound(channel + (255 - channel) * a); };
    return QColor(mix(color.red()), mix(color.green()), mix(color.blue()), color.alpha());
}

QColor PlotStyle::sequentialColor(double t) {
    // Viridis sampled at 0, 0.2, ..., 0.8: it stops short of viridis' yellow end, which
    // vanishes on a white background.
    static const std::array<QRgb, 5> kStops = {0x440154, 0x414487, 0x2a788e, 0x22a884, 0x7ad151};
    const double x = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * (kStops.size() - 1);
    const size_t i = std::min(static_cast<size_t>(x), kStops.size() - 2);
    const double f = x - static_cast<double>(i);
    const QColor a = QColor::fromRgb(kStops[i]);
    const QColor b = QColor::fromRgb(kStops[i + 1]);
    return QColor(qRound(a.red() + (b.red() - a.red()) * f),
                  qRound(a.green() + (b.green() - a.green()) * f),
                  qRound(a.blue() + (b.blue() - a.blue()) * f));
}

QColor PlotStyle::textColor() {
    return QColor(0x33, 0x33, 0x33);
}
QColor PlotStyle::mutedTextColor() {
    return QColor(0x80, 0x80, 0x80);
}
QColor PlotStyle::axisColor() {
    return QColor(0x99, 0x99, 0x99);
}
QColor PlotStyle::gridColor() {
    return QColor(0, 0, 0, 24);
}
QColor PlotStyle::highlightColor() {
    return QColor(0xff, 0xd5, 0x4f, 70);
}
QColor PlotStyle::selectionPenColor() {
    return QColor(0x20, 0x20, 0x20);
}

namespace {
QFont sized(const QFont& base, double points, bool bold = false) {
    QFont font(base);
    font.setPointSizeF(points);
    font.setBold(bold);
    return font;
}
}  // namespace

QFont PlotStyle::tickFont(const QFont& base) {
    return sized(base, 9);
}
QFont PlotStyle::labelFont(const QFont& base) {
    return sized(base, 10);
}
QFont PlotStyle::legendFont(const QFont& base) {
    return sized(base, 9);
}
QFont PlotStyle::titleFont(const QFont& base) {
    return sized(base, 10, true);
}
QFont PlotStyle::emptyFont(const QFont& base) {
    return sized(base, 11);
}

}  // namespace qs::ui
