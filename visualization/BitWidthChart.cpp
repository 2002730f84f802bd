#include "visualization/BitWidthChart.h"

#include "visualization/PlotStyle.h"

#include <algorithm>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

QString bitsText(int bits) {
    return bits > 0 ? QString::number(bits) : QStringLiteral("float");
}

void styleFloatBars(QCPBars* bars, const QColor& color) {
    bars->setBrush(QBrush(color, Qt::BDiagPattern));
    bars->setPen(QPen(color, 1));
    bars->selectionDecorator()->setBrush(QBrush(color.darker(125), Qt::BDiagPattern));
}

}  // namespace

BitWidthChart::BitWidthChart(QWidget* parent) : LayerBarChart(parent) {
    QCustomPlot* plot = customPlot();
    plot->yAxis->setLabel(tr("Bits"));
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    plot->yAxis->setTicker(ticker);

    const QColor weightColor = PlotStyle::seriesColor(0);
    const QColor actColor = PlotStyle::seriesColor(1);
    m_weight = addBars(tr("Weights"), weightColor);
    m_act = addBars(tr("Activations"), actColor);
    m_weightFloat = addBars(tr("Weights: float"), weightColor);
    m_actFloat = addBars(tr("Activations: float"), actColor);
    styleFloatBars(m_weightFloat, weightColor);
    styleFloatBars(m_actFloat, actColor);
    // Stacked on an empty slot, the float bar takes the position of the quantized bar.
    m_weightFloat->moveAbove(m_weight);
    m_actFloat->moveAbove(m_act);
    fitRanges();
}

BitWidthChart::~BitWidthChart() = default;

void BitWidthChart::setLayers(const QVector<LayerRow>& layers) {
    m_layers = layers;
    setCategories(layers);

    for (QCPItemText* label : qAsConst(m_floatLabels)) {
        customPlot()->removeItem(label);
    }
    m_floatLabels.clear();

    const double top = topBits();
    QVector<double> wKeys, wValues, aKeys, aValues, wfKeys, afKeys;
    for (int i = 0; i < layers.size(); ++i) {
        const LayerRow& row = layers.at(i);
        for (int slot = 0; slot < 2; ++slot) {
            const int bits = slot == 0 ? row.weightBits : row.actBits;
            if (bits > 0) {
                (slot == 0 ? wKeys : aKeys).append(i);
                (slot == 0 ? wValues : aValues).append(bits);
                continue;
            }
            (slot == 0 ? wfKeys : afKeys).append(i);
            auto* label = new QCPItemText(customPlot());
            label->setText(QStringLiteral("fp"));
            label->setFont(PlotStyle::tickFont(font()));
            label->setColor(PlotStyle::textColor());
            label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
            label->position->setCoords(i + slotOffset(slot), top);
            label->setPadding(QMargins(0, 0, 0, 2));
            label->setSelectable(false);
            m_floatLabels.append(label);
        }
    }
    m_weight->setData(wKeys, wValues, true);
    m_act->setData(aKeys, aValues, true);
    m_weightFloat->setData(wfKeys, QVector<double>(wfKeys.size(), top), true);
    m_actFloat->setData(afKeys, QVector<double>(afKeys.size(), top), true);

    // Float entries in the legend only when some slot is float.
    const bool anyFloat = !wfKeys.isEmpty() || !afKeys.isEmpty();
    for (QCPBars* bars : {m_weightFloat, m_actFloat}) {
        if (anyFloat) {
            bars->addToLegend();
        } else {
            bars->removeFromLegend();
        }
    }
    setLegendAbove(!layers.isEmpty(), 4);
    applySelection();
    dataChanged();
}

void BitWidthChart::fitRanges() {
    fitCategoryRange();
    const int top = topBits();
    auto ticker = customPlot()->yAxis->ticker().dynamicCast<QCPAxisTickerFixed>();
    ticker->setTickStep(top <= 8 ? 1.0 : top <= 16 ? 2.0 : 4.0);
    // Room above the tallest bar for the "fp" labels.
    customPlot()->yAxis->setRange(0.0, top * 1.18);
}

QString BitWidthChart::toolTipFor(int index) const {
    const LayerRow& row = m_layers.at(index);
    return tr("<b>%1</b><br>weights: %2 bits<br>activations: %3 bits")
        .arg(row.layer.toHtmlEscaped(), bitsText(row.weightBits), bitsText(row.actBits));
}

int BitWidthChart::topBits() const {
    int top = 8;
    for (const LayerRow& row : m_layers) {
        top = std::max({top, row.weightBits, row.actBits});
    }
    return top;
}

}  // namespace qs::ui
