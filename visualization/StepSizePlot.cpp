#include "visualization/StepSizePlot.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

const QString kSelectionLayer = QStringLiteral("selection");

/// The step the line shows: the tensor's step, or the mean of the per-channel steps. NaN when
/// there is none (float layer) or it cannot go on a log axis.
double meanStep(const LayerRow& row) {
    if (row.weightBits <= 0 || row.weightSteps.isEmpty()) {
        return std::numeric_limits<double>::quiet_NaN();
    }
    double sum = 0.0;
    for (double step : row.weightSteps) {
        sum += step;
    }
    const double mean = sum / row.weightSteps.size();
    return std::isfinite(mean) && mean > 0.0 ? mean : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

StepSizePlot::StepSizePlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    plot->xAxis->setLabel(tr("Step"));
    plot->yAxis->setLabel(tr("Weight step size"));
    setLogTicks(plot->yAxis);
    plot->yAxis->setNumberFormat(QStringLiteral("g"));
    plot->yAxis->setNumberPrecision(3);
    plot->setAutoAddPlottableToLegend(false);
    plot->addLayer(kSelectionLayer, plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);

    m_depthNote = new QCPItemText(plot);
    m_depthNote->setLayer(QStringLiteral("legend"));
    m_depthNote->position->setType(QCPItemPosition::ptAxisRectRatio);
    // Left-aligned and not clipped: in a narrow dock the note can be wider than the axis rect,
    // and right alignment then cut off its first characters.
    m_depthNote->setClipToAxisRect(false);
    m_depthNote->position->setCoords(0.01, 0.02);
    m_depthNote->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_depthNote->setFont(PlotStyle::legendFont(font()));
    m_depthNote->setColor(PlotStyle::mutedTextColor());
    m_depthNote->setBrush(QColor(255, 255, 255, 220));
    m_depthNote->setPadding(QMargins(4, 2, 4, 2));
    m_depthNote->setVisible(false);
    m_depthNote->setSelectable(false);
    fitRanges();
}

StepSizePlot::~StepSizePlot() = default;

void StepSizePlot::clear() {
    for (QCPGraph* graph : qAsConst(m_graphs)) {
        customPlot()->removeGraph(graph);
    }
    m_graphs.clear();
    m_order.clear();
    enableAutoRange();
    applyStyles();
    dataChanged();
}

void StepSizePlot::appendSnapshot(const LayerSnapshot& snapshot) {
    bool anyCreated = false;
    for (const LayerRow& row : snapshot.layers) {
        const double step = meanStep(row);
        if (std::isnan(step)) {
            continue;
        }
        bool created = false;
        graphFor(row.layer, &created)->addData(double(snapshot.step), step);
        anyCreated = anyCreated || created;
    }
    if (anyCreated) {
        applyStyles();
    }
    dataChanged();
}

void StepSizePlot::setSnapshots(const QVector<LayerSnapshot>& snapshots) {
    clear();
    // Gathered per layer first so that each line gets its data in one call.
    QHash<QString, QPair<QVector<double>, QVector<double>>> series;
    for (const LayerSnapshot& snapshot : snapshots) {
        for (const LayerRow& row : snapshot.layers) {
            const double step = meanStep(row);
            if (std::isnan(step)) {
                continue;
            }
            bool created = false;
            graphFor(row.layer, &created);
            auto& [keys, values] = series[row.layer];
            keys.append(double(snapshot.step));
            values.append(step);
        }
    }
    for (auto it = series.cbegin(); it != series.cend(); ++it) {
        const auto& [keys, values] = it.value();
        const bool sorted = std::is_sorted(keys.cbegin(), keys.cend());
        m_graphs.value(it.key())->addData(keys, values, sorted);
    }
    applyStyles();
    dataChanged();
}

void StepSizePlot::setVisibleLayers(const QStringList& layers) {
    if (layers == m_visibleFilter) {
        return;
    }
    m_visibleFilter = layers;
    applyStyles();
    dataChanged();
}

void StepSizePlot::setSelectedLayer(const QString& layer) {
    if (layer == m_selected) {
        return;
    }
    m_selected = layer;
    applyStyles();
    requestReplot();
}

bool StepSizePlot::hasData() const {
    // Also when the visible-layer filter hides every line: the filter is the user's doing, and
    // an empty-state message would wrongly say there is no run.
    return std::any_of(m_graphs.cbegin(), m_graphs.cend(),
                       [](const QCPGraph* graph) { return !graph->data()->isEmpty(); });
}

void StepSizePlot::fitRanges() {
    bool foundKeys = false;
    bool foundValues = false;
    QCPRange keys;
    QCPRange values;
    for (const QCPGraph* graph : qAsConst(m_graphs)) {
        if (!graph->visible()) {
            continue;
        }
        bool found = false;
        const QCPRange k = graph->getKeyRange(found, QCP::sdBoth);
        if (found) {
            keys = foundKeys
                       ? QCPRange(std::min(keys.lower, k.lower), std::max(keys.upper, k.upper))
                       : k;
            foundKeys = true;
        }
        const QCPRange v = graph->getValueRange(found, QCP::sdPositive);
        if (found) {
            values = foundValues ? QCPRange(std::min(values.lower, v.lower),
                                            std::max(values.upper, v.upper))
                                 : v;
            foundValues = true;
        }
    }
    QCustomPlot* plot = customPlot();
    if (!foundKeys) {
        plot->xAxis->setRange(0.0, 1.0);
        plot->yAxis->setRange(1e-3, 1.0);
        return;
    }
    if (keys.size() <= 0.0) {
        keys = QCPRange(keys.lower - 1.0, keys.upper + 1.0);
    }
    plot->xAxis->setRange(keys);
    // Padding by a factor, the log-axis equivalent of a margin; more above for the note.
    plot->yAxis->setRange(values.lower / 1.25, values.upper * 1.6);
}

QCPGraph* StepSizePlot::graphFor(const QString& layer, bool* created) {
    if (QCPGraph* graph = m_graphs.value(layer)) {
        *created = false;
        return graph;
    }
    QCPGraph* graph = customPlot()->addGraph();
    graph->setName(layer);
    graph->setLineStyle(QCPGraph::lsLine);
    m_graphs.insert(layer, graph);
    m_order.append(layer);
    *created = true;
    return graph;
}

bool StepSizePlot::isShown(const QString& layer) const {
    return m_visibleFilter.isEmpty() || m_visibleFilter.contains(layer);
}

void StepSizePlot::applyStyles() {
    QStringList shown;
    for (const QString& layer : qAsConst(m_order)) {
        if (isShown(layer)) {
            shown.append(layer);
        }
    }
    const bool distinct = shown.size() <= kMaxLegendLayers;
    const bool anySelected = shown.contains(m_selected);
    customPlot()->legend->clearItems();
    for (int i = 0; i < m_order.size(); ++i) {
        const QString& layer = m_order.at(i);
        QCPGraph* graph = m_graphs.value(layer);
        graph->setVisible(isShown(layer));
        QColor color = distinct ? PlotStyle::seriesColor(static_cast<int>(shown.indexOf(layer)))
                                : PlotStyle::sequentialColor(
                                      m_order.size() > 1 ? double(i) / (m_order.size() - 1) : 0.0);
        const bool selected = layer == m_selected;
        if (anySelected && !selected) {
            color.setAlphaF(0.6);  // the selected line stands out against the others
        }
        graph->setPen(QPen(color, selected ? 2.8 : (distinct ? 1.6 : 1.2)));
        graph->setLayer(selected ? kSelectionLayer : QStringLiteral("main"));
        if (distinct && graph->visible()) {
            graph->addToLegend();
        }
    }
    setLegendAbove(distinct && !shown.isEmpty(), 4);

    m_depthNote->setVisible(!distinct);
    if (!distinct) {
        m_depthNote->setText(tr("%1 layers by depth: %2 dark, %3 light")
                                 .arg(shown.size())
                                 .arg(m_order.first(), m_order.last()));
    }
}

}  // namespace qs::ui
