#include "visualization/OmegaChart.h"

#include "visualization/PlotStyle.h"

#include <QSet>

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

// Above the lines, below the axes: the allocation rings and clamped markers stay on top of
// lines that are recreated when the candidate bit-widths change.
const QString kMarksLayer = QStringLiteral("marks");
// Marker sizes in pixels: smaller when the categories get thin.
constexpr double kMarkerPixels = 6.0;
constexpr double kSmallMarkerPixels = 3.5;
constexpr double kRingPixels = 12.0;
constexpr double kSmallRingPixels = 8.0;
constexpr int kSmallFromLayers = 60;

}  // namespace

OmegaChart::OmegaChart(QWidget* parent) : LayerBarChart(parent) {
    QCustomPlot* plot = customPlot();
    plot->addLayer(kMarksLayer, plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    QCPAxis* y = plot->yAxis;
    y->setLabel(tr("Sensitivity \u03a9(b)"));
    setLogTicks(y);
    y->setNumberFormat(QStringLiteral("eb"));
    y->setNumberPrecision(0);

    m_allocated = plot->addGraph(plot->xAxis, y);
    m_allocated->setName(tr("Allocated bits"));
    m_allocated->setLineStyle(QCPGraph::lsNone);
    m_allocated->setPen(QPen(PlotStyle::selectionPenColor(), 2.0));
    m_allocated->setLayer(kMarksLayer);
    m_clamped = addClampedMarkers(plot);
    m_clamped->setLayer(kMarksLayer);
    // Icons tall enough for the whole ring.
    plot->legend->setIconSize(22, 16);
    fitRanges();
}

OmegaChart::~OmegaChart() = default;

void OmegaChart::setLayers(const QVector<LayerSensitivity>& layers) {
    m_layers = layers;
    QVector<LayerRow> rows(layers.size());
    for (int i = 0; i < layers.size(); ++i) {
        rows[i].layer = layers.at(i).layer;
        rows[i].paramCount = layers.at(i).params;
    }
    setCategories(rows);
    rebuildLines();
    updateAllocationMarks();
    setLegendAbove(!m_layers.isEmpty(), m_lines.size() + 2);
    applySelection();
    dataChanged();
}

void OmegaChart::updateLegend() {
    // The lines by bits, then the rings and the clamped markers, each only when drawn.
    for (QCPGraph* graph : {m_allocated, m_clamped}) {
        graph->removeFromLegend();
        if (!graph->data()->isEmpty()) {
            graph->addToLegend();
        }
    }
}

void OmegaChart::setAllocation(const QMap<QString, int>& bits) {
    m_allocation = bits;
    updateAllocationMarks();
    requestReplot();
}

void OmegaChart::rebuildLines() {
    QSet<int> candidates;
    QVector<double> extent;
    bool anyClamped = false;
    for (const LayerSensitivity& layer : qAsConst(m_layers)) {
        for (auto it = layer.omega.cbegin(); it != layer.omega.cend(); ++it) {
            candidates.insert(it.key());
            extent.append(it.value());
            anyClamped = anyClamped || it.value() <= 0.0;
        }
    }
    m_fit = LogAxisFit::fit(extent, 0.3, anyClamped);

    QCustomPlot* plot = customPlot();
    const QList<int> previous = m_lines.keys();
    QList<int> wanted = candidates.values();
    std::sort(wanted.begin(), wanted.end());
    if (wanted != previous) {
        for (QCPGraph* line : qAsConst(m_lines)) {
            plot->removeGraph(line);
        }
        m_lines.clear();
        for (int i = 0; i < wanted.size(); ++i) {
            // Ordered bit-widths, ordered colours: few bits dark, many bits light green.
            const QColor color = PlotStyle::sequentialColor(
                wanted.size() > 1 ? double(i) / (wanted.size() - 1) : 0.0);
            QCPGraph* line = plot->addGraph(plot->xAxis, plot->yAxis);
            line->setName(tr("%n bits", nullptr, wanted.at(i)));
            line->setPen(QPen(color, 1.5));
            m_lines.insert(wanted.at(i), line);
        }
    }

    const bool small = m_layers.size() > kSmallFromLayers;
    QVector<double> clampedKeys;
    for (auto it = m_lines.cbegin(); it != m_lines.cend(); ++it) {
        QVector<double> keys, values;
        for (int i = 0; i < m_layers.size(); ++i) {
            const auto omega = m_layers.at(i).omega.constFind(it.key());
            const bool known = omega != m_layers.at(i).omega.cend();
            keys.append(i);
            // NaN leaves a gap in the line: a missing or clamped Omega is not on it.
            values.append(known && *omega > 0.0 ? *omega
                                                : std::numeric_limits<double>::quiet_NaN());
            if (known && !(*omega > 0.0)) {
                clampedKeys.append(i);
            }
        }
        QCPGraph* line = it.value();
        line->setData(keys, values, true);
        const QColor color = line->pen().color();
        line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, color, color,
                                              small ? kSmallMarkerPixels : kMarkerPixels));
    }
    std::sort(clampedKeys.begin(), clampedKeys.end());
    m_clamped->setData(clampedKeys, QVector<double>(clampedKeys.size(), m_fit.clampValue), true);
    m_allocated->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, m_allocated->pen(),
                                                 Qt::NoBrush,
                                                 small ? kSmallRingPixels : kRingPixels));
}

void OmegaChart::updateAllocationMarks() {
    QVector<double> keys, values;
    for (int i = 0; i < m_layers.size(); ++i) {
        const LayerSensitivity& layer = m_layers.at(i);
        const auto bits = m_allocation.constFind(layer.layer);
        if (bits == m_allocation.cend()) {
            continue;
        }
        const auto omega = layer.omega.constFind(*bits);
        if (omega != layer.omega.cend()) {
            keys.append(i);
            values.append(m_fit.shown(*omega));
        }
    }
    m_allocated->setData(keys, values, true);
    updateLegend();
}

void OmegaChart::fitRanges() {
    fitCategoryRange();
    customPlot()->yAxis->setRange(m_fit.lower, m_fit.upper);
}

QString OmegaChart::toolTipFor(int index) const {
    const LayerSensitivity& layer = m_layers.at(index);
    QString text = QStringLiteral("<b>%1</b>").arg(layer.layer.toHtmlEscaped());
    const int allocated = m_allocation.value(layer.layer, 0);
    for (auto it = layer.omega.cbegin(); it != layer.omega.cend(); ++it) {
        const QString line =
            tr("%n bits: \u03a9 = %1", nullptr, it.key()).arg(QString::number(it.value(), 'g', 4));
        text += QStringLiteral("<br>") +
                (it.key() == allocated ? tr("<b>%1</b> (allocated)").arg(line) : line);
    }
    return text;
}

}  // namespace qs::ui
