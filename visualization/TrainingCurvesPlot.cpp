#include "visualization/TrainingCurvesPlot.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

// Eval series (a few markers each) are drawn above every run's noisy train lines.
const QString kEvalLayer = QStringLiteral("eval");

// How much lighter (towards white) the accuracy tone of a run's colour is.
constexpr double kAccuracyTone = 0.45;

}  // namespace

void TrainingCurvesPlot::Extent::add(double value) {
    lo = std::min(lo, value);
    hi = std::max(hi, value);
}

void TrainingCurvesPlot::Extent::add(const Extent& other) {
    lo = std::min(lo, other.lo);
    hi = std::max(hi, other.hi);
}

TrainingCurvesPlot::TrainingCurvesPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    plot->setAutoAddPlottableToLegend(false);
    plot->addLayer(kEvalLayer, plot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    plot->xAxis->setLabel(tr("Step"));
    plot->yAxis->setLabel(tr("Loss"));
    plot->yAxis2->setVisible(true);
    plot->yAxis2->setTickLabels(true);
    plot->yAxis2->setLabel(tr("Accuracy"));
    plot->yAxis2->grid()->setVisible(false);  // one grid, the loss axis'
    setPercentTicks(plot->yAxis2);
    // Pan and zoom move both value axes together, so loss and accuracy stay aligned.
    plot->axisRect()->setRangeDragAxes({plot->xAxis}, {plot->yAxis, plot->yAxis2});
    plot->axisRect()->setRangeZoomAxes({plot->xAxis}, {plot->yAxis, plot->yAxis2});
    fitRanges();
}

TrainingCurvesPlot::~TrainingCurvesPlot() = default;

void TrainingCurvesPlot::clear() {
    for (const Run& run : qAsConst(m_runs)) {
        for (QCPGraph* graph : run.graphs) {
            if (graph != nullptr) {
                customPlot()->removeGraph(graph);
            }
        }
    }
    m_runs.clear();
    m_order.clear();
    rebuildLegend();
    enableAutoRange();
    dataChanged();
}

void TrainingCurvesPlot::addPoints(qint64 runId, const QString& runLabel,
                                   const QVector<MetricPoint>& points) {
    auto it = m_runs.find(runId);
    bool legendChanged = false;
    if (it == m_runs.end()) {
        Run run;
        run.label = runLabel;
        run.colorIndex = freeColorIndex();
        it = m_runs.insert(runId, run);
        m_order.append(runId);
    } else if (!runLabel.isEmpty() && runLabel != it->label) {
        it->label = runLabel;
        nameGraphs(*it);
        legendChanged = true;
    }

    std::array<QVector<double>, SeriesCount> keys;
    std::array<QVector<double>, SeriesCount> values;
    for (const MetricPoint& point : points) {
        const int series = seriesFor(point.key);
        if (series < 0 || !std::isfinite(point.value)) {
            continue;
        }
        keys[series].append(double(point.step));
        values[series].append(point.value);
        it->steps.add(double(point.step));
        (series == TrainLoss || series == EvalLoss ? it->loss : it->acc).add(point.value);
    }

    bool added = false;
    for (int s = 0; s < SeriesCount; ++s) {
        if (keys[s].isEmpty()) {
            continue;
        }
        QCPGraph*& graph = it->graphs[s];
        if (graph == nullptr) {
            graph = createGraph(it->colorIndex, Series(s));
            nameGraphs(*it);
            legendChanged = true;
        }
        // Sorted input that starts after the existing data is appended without re-sorting.
        const bool sorted = std::is_sorted(keys[s].cbegin(), keys[s].cend());
        graph->addData(keys[s], values[s], sorted);
        added = true;
    }
    if (legendChanged) {
        rebuildLegend();
    }
    if (added || legendChanged) {
        dataChanged();
    }
}

void TrainingCurvesPlot::removeRun(qint64 runId) {
    const auto it = m_runs.find(runId);
    if (it == m_runs.end()) {
        return;
    }
    for (QCPGraph* graph : it->graphs) {
        if (graph != nullptr) {
            customPlot()->removeGraph(graph);
        }
    }
    m_runs.erase(it);
    m_order.removeAll(runId);
    rebuildLegend();
    dataChanged();
}

bool TrainingCurvesPlot::hasData() const {
    for (const Run& run : m_runs) {
        for (const QCPGraph* graph : run.graphs) {
            if (graph != nullptr && !graph->data()->isEmpty()) {
                return true;
            }
        }
    }
    return false;
}

void TrainingCurvesPlot::fitRanges() {
    Extent steps;
    Extent loss;
    Extent acc;
    for (const Run& run : qAsConst(m_runs)) {
        steps.add(run.steps);
        loss.add(run.loss);
        acc.add(run.acc);
    }
    QCustomPlot* plot = customPlot();
    if (steps.valid()) {
        // A little room so the markers at the first and last evaluation are not cut in half.
        const double pad = std::max((steps.hi - steps.lo) * 0.01, 0.5);
        plot->xAxis->setRange(steps.lo - pad, steps.hi + pad);
    } else {
        plot->xAxis->setRange(0.0, 1000.0);
    }
    if (loss.valid()) {
        // From zero when the losses are non-negative (as they are): the drop reads truthfully.
        const double span = std::max(loss.hi - std::min(loss.lo, 0.0), 1e-6);
        const double lo = loss.lo >= 0.0 ? 0.0 : loss.lo - 0.05 * span;
        plot->yAxis->setRange(lo, loss.hi + 0.05 * span);
    } else {
        plot->yAxis->setRange(0.0, 2.5);
    }
    if (acc.valid()) {
        const double pad = std::max(0.05 * (acc.hi - acc.lo), 0.02);
        double lo = acc.lo - pad;
        double hi = acc.hi + pad;
        if (acc.lo >= 0.0) {
            lo = std::max(lo, 0.0);
        }
        if (acc.hi <= 1.0) {
            hi = std::min(hi, 1.0);
        }
        plot->yAxis2->setRange(lo, hi);
    } else {
        plot->yAxis2->setRange(0.0, 1.0);
    }
}

int TrainingCurvesPlot::seriesFor(const QString& key) {
    if (key == QLatin1String("train/loss")) {
        return TrainLoss;
    }
    if (key == QLatin1String("eval/loss")) {
        return EvalLoss;
    }
    if (key == QLatin1String("train/acc")) {
        return TrainAcc;
    }
    if (key == QLatin1String("eval/acc")) {
        return EvalAcc;
    }
    return -1;
}

QCPGraph* TrainingCurvesPlot::createGraph(int colorIndex, Series series) {
    QCustomPlot* plot = customPlot();
    const bool accuracy = series == TrainAcc || series == EvalAcc;
    const bool eval = series == EvalLoss || series == EvalAcc;
    QCPGraph* graph = plot->addGraph(plot->xAxis, accuracy ? plot->yAxis2 : plot->yAxis);
    const QColor base = PlotStyle::seriesColor(colorIndex);
    const QColor color = accuracy ? PlotStyle::lighter(base, kAccuracyTone) : base;
    if (eval) {
        graph->setLayer(kEvalLayer);
        graph->setPen(QPen(color, 1.4, Qt::DashLine));
        const auto shape = accuracy ? QCPScatterStyle::ssSquare : QCPScatterStyle::ssCircle;
        graph->setScatterStyle(QCPScatterStyle(shape, QPen(color, 1.5), Qt::white, 6));
    } else {
        graph->setPen(QPen(color, 1.6));
    }
    return graph;
}

void TrainingCurvesPlot::nameGraphs(const Run& run) {
    static const std::array<const char*, SeriesCount> kNames = {
        QT_TR_NOOP("train loss"), QT_TR_NOOP("eval loss"), QT_TR_NOOP("train acc"),
        QT_TR_NOOP("eval acc")};
    for (int s = 0; s < SeriesCount; ++s) {
        if (run.graphs[s] != nullptr) {
            const QString series = tr(kNames[s]);
            run.graphs[s]->setName(
                run.label.isEmpty() ? series : run.label + QStringLiteral(" \u00b7 ") + series);
        }
    }
}

void TrainingCurvesPlot::rebuildLegend() {
    // Rebuilt (rarely: a series appears or goes) so that every run is one row in series order.
    customPlot()->legend->clearItems();
    for (qint64 id : qAsConst(m_order)) {
        for (QCPGraph* graph : m_runs.value(id).graphs) {
            if (graph != nullptr) {
                graph->addToLegend();
            }
        }
    }
    setLegendAbove(!m_order.isEmpty(), SeriesCount);
}

int TrainingCurvesPlot::freeColorIndex() const {
    for (int index = 0;; ++index) {
        const bool used = std::any_of(m_runs.cbegin(), m_runs.cend(),
                                      [index](const Run& run) { return run.colorIndex == index; });
        if (!used) {
            return index;
        }
    }
}

}  // namespace qs::ui
