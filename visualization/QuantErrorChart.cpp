#include "visualization/QuantErrorChart.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

QCPGraph* addClipGraph(QCustomPlot* plot, const QString& name, const QColor& color,
                       QCPScatterStyle::ScatterShape shape) {
    QCPGraph* graph = plot->addGraph(plot->xAxis, plot->yAxis2);
    graph->setName(name);
    graph->setLineStyle(QCPGraph::lsNone);
    // White-filled with a dark outline: readable over the bars of the same hue.
    const QColor dark = color.darker(170);
    graph->setPen(QPen(dark, 1.6));
    graph->setScatterStyle(QCPScatterStyle(shape, QPen(dark, 1.6), Qt::white, 8));
    return graph;
}

QString percentText(double fraction) {
    return QString::number(fraction * 100.0, 'g', 3) + '%';
}

}  // namespace

QuantErrorChart::QuantErrorChart(QWidget* parent) : LayerBarChart(parent) {
    QCustomPlot* plot = customPlot();
    QCPAxis* y = plot->yAxis;
    y->setLabel(tr("Quantization MSE"));
    setLogTicks(y);
    y->setNumberFormat(QStringLiteral("eb"));
    y->setNumberPrecision(0);

    QCPAxis* y2 = plot->yAxis2;
    y2->setVisible(true);
    y2->setTickLabels(true);
    y2->setLabel(tr("Clipped"));
    y2->grid()->setVisible(false);
    setPercentTicks(y2);

    const QColor weightColor = PlotStyle::seriesColor(0);
    const QColor actColor = PlotStyle::seriesColor(1);
    m_weightError = addBars(tr("Weight MSE"), weightColor);
    m_actError = addBars(tr("Activation MSE"), actColor);
    m_weightClip =
        addClipGraph(plot, tr("Weights clipped"), weightColor, QCPScatterStyle::ssDiamond);
    m_actClip =
        addClipGraph(plot, tr("Activations clipped"), actColor, QCPScatterStyle::ssTriangle);
    fitRanges();
}

QuantErrorChart::~QuantErrorChart() = default;

void QuantErrorChart::setLayers(const QVector<LayerRow>& layers) {
    m_layers = layers;
    setCategories(layers);

    QVector<double> weKeys, weValues, aeKeys, aeValues, wcKeys, wcValues, acKeys, acValues;
    for (int i = 0; i < layers.size(); ++i) {
        const LayerRow& row = layers.at(i);
        if (row.weightBits > 0) {
            // A zero error has no place on a log axis; the missing bar reads as "exact".
            if (row.weightError > 0.0) {
                weKeys.append(i);
                weValues.append(row.weightError);
            }
            wcKeys.append(i + slotOffset(0));
            wcValues.append(row.weightClipRate);
        }
        if (row.actBits > 0) {
            if (row.actError > 0.0) {
                aeKeys.append(i);
                aeValues.append(row.actError);
            }
            acKeys.append(i + slotOffset(1));
            acValues.append(row.actClipRate);
        }
    }
    m_weightError->setData(weKeys, weValues, true);
    m_actError->setData(aeKeys, aeValues, true);
    m_weightClip->setData(wcKeys, wcValues, true);
    m_actClip->setData(acKeys, acValues, true);

    setLegendAbove(!layers.isEmpty(), 4);
    applySelection();
    dataChanged();
}

void QuantErrorChart::fitRanges() {
    fitCategoryRange();
    double lo = std::numeric_limits<double>::infinity();
    double hi = 0.0;
    for (const QCPBars* bars : {m_weightError, m_actError}) {
        for (const QCPBarsData& bar : *bars->data()) {
            lo = std::min(lo, bar.value);
            hi = std::max(hi, bar.value);
        }
    }
    if (hi > 0.0) {
        // Whole decades, with half a decade of room above the tallest bar.
        customPlot()->yAxis->setRange(std::pow(10.0, std::floor(std::log10(lo))),
                                      std::pow(10.0, std::ceil(std::log10(hi) + 0.5)));
    } else {
        customPlot()->yAxis->setRange(1e-6, 1e-2);
    }
    double clipMax = 0.0;
    for (const QCPGraph* graph : {m_weightClip, m_actClip}) {
        for (const QCPGraphData& point : *graph->data()) {
            clipMax = std::max(clipMax, point.value);
        }
    }
    customPlot()->yAxis2->setRange(0.0, std::max(clipMax * 1.2, 0.01));
}

QString QuantErrorChart::toolTipFor(int index) const {
    const LayerRow& row = m_layers.at(index);
    auto slot = [](int bits, double error, double clip) {
        return bits > 0 ? QStringLiteral("MSE %1, %2 clipped")
                              .arg(QString::number(error, 'g', 3), percentText(clip))
                        : QStringLiteral("float");
    };
    return tr("<b>%1</b><br>weights: %2<br>activations: %3")
        .arg(row.layer.toHtmlEscaped(), slot(row.weightBits, row.weightError, row.weightClipRate),
             slot(row.actBits, row.actError, row.actClipRate));
}

}  // namespace qs::ui
