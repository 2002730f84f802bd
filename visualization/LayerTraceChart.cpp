#include "visualization/LayerTraceChart.h"

#include "visualization/PlotStyle.h"

#include <QLocale>

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

// One bar per layer: wider than the pairs of the other layer charts.
constexpr double kTraceBarWidth = 0.7;
// Whisker widths in pixels: narrower when the categories get thin.
constexpr double kWhiskerPixels = 7.0;
constexpr double kNarrowWhiskerPixels = 3.0;
constexpr int kNarrowFromLayers = 60;

QString number(double value) {
    return QString::number(value, 'g', 6);
}

}  // namespace

LayerTraceChart::LayerTraceChart(QWidget* parent) : LayerBarChart(parent) {
    QCustomPlot* plot = customPlot();
    m_bars = addBars(tr("Hessian trace"), PlotStyle::seriesColor(0));
    m_bars->setWidth(kTraceBarWidth);

    m_errors = new QCPErrorBars(plot->xAxis, plot->yAxis);
    m_errors->setDataPlottable(m_bars);
    m_errors->setErrorType(QCPErrorBars::etValueError);
    m_errors->setPen(QPen(PlotStyle::textColor(), 1.2));
    m_errors->setSymbolGap(0.0);  // bars have no symbol: the whisker starts at the bar's top
    m_errors->setSelectable(QCP::stNone);

    m_clamped = addClampedMarkers(plot);
    setLogScale(true);
}

LayerTraceChart::~LayerTraceChart() = default;

void LayerTraceChart::setLayers(const QVector<LayerSensitivity>& layers) {
    m_layers = layers;
    QVector<LayerRow> rows(layers.size());
    for (int i = 0; i < layers.size(); ++i) {
        rows[i].layer = layers.at(i).layer;
        rows[i].paramCount = layers.at(i).params;
    }
    setCategories(rows);
    rebuild();
}

void LayerTraceChart::setLogScale(bool log) {
    m_log = log;
    QCPAxis* y = customPlot()->yAxis;
    if (log) {
        setLogTicks(y);
        y->setNumberFormat(QStringLiteral("eb"));
        y->setNumberPrecision(0);
    } else {
        y->setScaleType(QCPAxis::stLinear);
        y->setTicker(QSharedPointer<QCPAxisTicker>::create());
        y->setNumberFormat(QStringLiteral("gb"));
        y->setNumberPrecision(6);
    }
    enableAutoRange();  // the old axis' zoom means nothing on the new one
    rebuild();
}

void LayerTraceChart::setStandardErrors(int count) {
    m_errorCount = std::clamp(count, 1, 2);
    rebuild();
}

QStringList LayerTraceChart::clampedLayers() const {
    QStringList out;
    for (const QCPGraphData& point : *m_clamped->data()) {
        out.append(m_layers.at(static_cast<int>(std::lround(point.key))).layer);
    }
    return out;
}

void LayerTraceChart::rebuild() {
    const double k = m_errorCount;
    QVector<double> extent;
    bool anyClamped = false;
    for (const LayerSensitivity& layer : qAsConst(m_layers)) {
        if (!std::isfinite(layer.trace)) {
            continue;
        }
        anyClamped = anyClamped || layer.trace <= 0.0;
        extent << layer.trace << layer.trace + k * layer.traceSe << layer.trace - k * layer.traceSe;
    }
    m_fit = LogAxisFit::fit(extent, 0.3, anyClamped);

    QVector<double> keys, values, minus, plus, clampedKeys;
    for (int i = 0; i < m_layers.size(); ++i) {
        const LayerSensitivity& layer = m_layers.at(i);
        if (!std::isfinite(layer.trace)) {
            continue;  // not measured: no bar
        }
        if (m_log && layer.trace <= 0.0) {
            clampedKeys.append(i);
            continue;
        }
        const double error = k * std::max(layer.traceSe, 0.0);
        keys.append(i);
        values.append(layer.trace);
        plus.append(error);
        // On the log axis an interval reaching zero ends at the axis bottom.
        minus.append(m_log && layer.trace - error <= 0.0 ? layer.trace - m_fit.lower : error);
    }
    m_bars->setData(keys, values, true);
    m_errors->setData(minus, plus);
    m_errors->setWhiskerWidth(m_layers.size() > kNarrowFromLayers ? kNarrowWhiskerPixels
                                                                  : kWhiskerPixels);
    m_clamped->setData(clampedKeys, QVector<double>(clampedKeys.size(), m_fit.clampValue), true);

    const QString errorText =
        m_errorCount == 1 ? tr("\u00b1 1 standard error") : tr("\u00b1 2 standard errors");
    m_errors->setName(errorText);
    customPlot()->yAxis->setLabel(tr("Hessian trace Tr(H), \u00b1 %1 SE").arg(m_errorCount));
    if (clampedKeys.isEmpty()) {
        m_clamped->removeFromLegend();
    } else {
        m_clamped->addToLegend();
    }
    setLegendAbove(!m_layers.isEmpty(), 3);
    applySelection();
    dataChanged();
}

void LayerTraceChart::fitRanges() {
    fitCategoryRange();
    QCPAxis* y = customPlot()->yAxis;
    if (m_log) {
        y->setRange(m_fit.lower, m_fit.upper);
        return;
    }
    double lo = 0.0;
    double hi = 0.0;
    for (const LayerSensitivity& layer : qAsConst(m_layers)) {
        if (std::isfinite(layer.trace)) {
            const double error = m_errorCount * std::max(layer.traceSe, 0.0);
            lo = std::min(lo, layer.trace - error);
            hi = std::max(hi, layer.trace + error);
        }
    }
    if (!(hi > lo)) {
        hi = 1.0;
    }
    const double pad = 0.05 * (hi - lo);
    y->setRange(lo < 0.0 ? lo - pad : 0.0, hi + pad);
}

QString LayerTraceChart::toolTipFor(int index) const {
    const LayerSensitivity& layer = m_layers.at(index);
    QString text = QStringLiteral("<b>%1</b>").arg(layer.layer.toHtmlEscaped());
    if (!std::isfinite(layer.trace)) {
        return text + tr("<br>trace not measured");
    }
    text += tr("<br>Tr(H) = %1 \u00b1 %2 (1 SE)").arg(number(layer.trace), number(layer.traceSe));
    if (layer.params > 0) {
        text +=
            tr("<br>per weight: %1 (%2 weights)")
                .arg(number(layer.trace / double(layer.params)), QLocale().toString(layer.params));
    }
    if (m_log && layer.trace <= 0.0) {
        text += tr("<br><i>not positive: drawn clamped at the bottom of the log axis</i>");
    }
    return text;
}

}  // namespace qs::ui
