// The one place that decides how Quantscape's plots look: colours, pens, fonts. Every chart and
// any widget that wants to match a chart's colour (a legend in a table, a run swatch) reads them
// from here.
#pragma once

#include <QColor>
#include <QFont>

namespace qs::ui {

class PlotStyle {
public:
    /// Number of qualitative series colours before they repeat.
    static constexpr int kSeriesColorCount = 8;

    /// Qualitative palette (matplotlib's tab10 without its grey and olive): eight hues that
    /// stay distinct from each other on white and under the common colour-vision deficiencies.
    /// `index` wraps around.
    static QColor seriesColor(int index);
    /// `color` blended towards white by `amount` in [0, 1]: a companion tone of the same hue.
    static QColor lighter(const QColor& color, double amount);
    /// Sequential colour for ordered series (layers by depth), t in [0, 1] from dark blue to
    /// green (viridis without its yellow end), readable on white at both ends.
    static QColor sequentialColor(double t);

    static QColor textColor();       ///< tick labels, legend, titles
    static QColor mutedTextColor();  ///< empty-state text, annotations
    static QColor axisColor();       ///< axis lines and ticks
    static QColor gridColor();       ///< major grid lines
    static QColor highlightColor();  ///< background band behind a selected category
    static QColor selectionPenColor();

    static QFont tickFont(const QFont& base);    ///< 9 pt
    static QFont labelFont(const QFont& base);   ///< 10 pt, axis labels
    static QFont legendFont(const QFont& base);  ///< 9 pt
    static QFont titleFont(const QFont& base);   ///< 10 pt bold
    static QFont emptyFont(const QFont& base);   ///< 11 pt, the empty-state message
};

}  // namespace qs::ui
