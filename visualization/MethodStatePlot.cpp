#include "visualization/MethodStatePlot.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

const QString kCleanLoss = QStringLiteral("train/loss");
const QString kPerturbedLoss = QStringLiteral("squat/perturbed_loss");

/// How a known series looks and where it sits in the legend. Keys not listed (a newer engine's)
/// still get a series, after these, named by their key.
struct SeriesLook {
    const char* key;
    const char* name;
    int color;  ///< PlotStyle::seriesColor index
    bool norm;  ///< on the logarithmic axis
};

const SeriesLook kLooks[] = {
    {"squat/perturbed_loss", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "loss at w+e"), 3, false},
    {"train/loss", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "clean train loss"), 0, false},
    {"squat/loss_gap", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "loss gap"), 1, false},
    {"distill/soft_loss", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "distill soft loss"), 4,
     false},
    {"nt/lambda", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "noise λ_t"), 2, false},
    {"quant/step_grad_norm", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "‖∇s‖ step sizes"), 5,
     true},
    {"squat/grad_norm", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "‖∇w‖"), 6, true},
    {"squat/perturb_norm", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "‖e‖ perturbation"), 7,
     true},
    {"squat/rho", QT_TRANSLATE_NOOP("qs::ui::MethodStatePlot", "ρ radius"), 7, true},
};

const SeriesLook* lookFor(const QString& key) {
    for (const SeriesLook& look : kLooks) {
        if (key == QLatin1String(look.key)) {
            return &look;
        }
    }
    return nullptr;
}

int orderOf(const QString& key) {
    for (int i = 0; i < int(std::size(kLooks)); ++i) {
        if (key == QLatin1String(kLooks[i].key)) {
            return i;
        }
    }
    return int(std::size(kLooks));
}

}  // namespace

void MethodStatePlot::Extent::add(double value) {
    lo = std::min(lo, value);
    hi = std::max(hi, value);
}

MethodStatePlot::MethodStatePlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    plot->setAutoAddPlottableToLegend(false);
    // No "Step" label: the plot sits under the loss curves, whose axis says it.
    plot->yAxis->setLabel(tr("Loss · λ"));
    plot->yAxis2->setLabel(tr("Norm"));
    plot->yAxis2->setTickLabels(true);
    setLogTicks(plot->yAxis2);
    plot->yAxis2->setNumberFormat(QStringLiteral("g"));
    plot->yAxis2->setNumberPrecision(3);
    plot->axisRect()->setRangeDragAxes({plot->xAxis}, {plot->yAxis, plot->yAxis2});
    plot->axisRect()->setRangeZoomAxes({plot->xAxis}, {plot->yAxis, plot->yAxis2});
    setEmptyText(tr("No method state: this run's method streams none"));
    updateAxes();
    fitRanges();
}

MethodStatePlot::~MethodStatePlot() = default;

bool MethodStatePlot::isMethodKey(const QString& key) {
    return key.startsWith(QLatin1String("squat/")) || key.startsWith(QLatin1String("nt/")) ||
           key.startsWith(QLatin1String("quant/")) || key.startsWith(QLatin1String("distill/"));
}

QString MethodStatePlot::seriesName(const QString& key) {
    const SeriesLook* look = lookFor(key);
    return look ? tr(look->name) : key;
}

bool MethodStatePlot::isNormKey(const QString& key) {
    const SeriesLook* look = lookFor(key);
    return look ? look->norm : key.contains(QLatin1String("norm"));
}

void MethodStatePlot::clear() {
    for (const Series& s : qAsConst(m_series)) {
        customPlot()->removeGraph(s.graph);
    }
    m_series.clear();
    m_cleanSteps.clear();
    m_cleanValues.clear();
    m_steps = {};
    m_linear = {};
    m_log = {};
    updateAxes();
    enableAutoRange();
    dataChanged();
}

void MethodStatePlot::addPoints(const QVector<MetricPoint>& points) {
    QMap<QString, QPair<QVector<double>, QVector<double>>> batches;
    for (const MetricPoint& p : points) {
        if (!std::isfinite(p.value)) {
            continue;
        }
        if (p.key == kCleanLoss) {
            m_cleanSteps.append(double(p.step));
            m_cleanValues.append(p.value);
            if (m_series.contains(kCleanLoss)) {
                batches[p.key].first.append(double(p.step));
                batches[p.key].second.append(p.value);
            }
            continue;
        }
        if (!isMethodKey(p.key) || (isNormKey(p.key) && !(p.value > 0.0))) {
            continue;
        }
        batches[p.key].first.append(double(p.step));
        batches[p.key].second.append(p.value);
    }
    // The clean loss is worth a line only next to the perturbed one: from the first perturbed
    // point on, with everything received before.
    if (batches.contains(kPerturbedLoss) && !m_series.contains(kCleanLoss) &&
        !m_cleanSteps.isEmpty()) {
        batches.insert(kCleanLoss, {m_cleanSteps, m_cleanValues});
    }
    if (batches.isEmpty()) {
        return;
    }
    bool created = false;
    for (auto it = batches.cbegin(); it != batches.cend(); ++it) {
        created = created || !m_series.contains(it.key());
        addToSeries(it.key(), it.value().first, it.value().second);
    }
    if (created) {
        updateAxes();
    }
    dataChanged();
}

void MethodStatePlot::addToSeries(const QString& key, const QVector<double>& steps,
                                  const QVector<double>& values) {
    auto it = m_series.find(key);
    if (it == m_series.end()) {
        it = m_series.insert(key, Series{createGraph(key), orderOf(key)});
    }
    const bool sorted = std::is_sorted(steps.cbegin(), steps.cend());
    it->graph->addData(steps, values, sorted);
    Extent& extent = isNormKey(key) ? m_log : m_linear;
    for (int i = 0; i < steps.size(); ++i) {
        m_steps.add(steps[i]);
        extent.add(values[i]);
    }
}

QCPGraph* MethodStatePlot::createGraph(const QString& key) {
    QCustomPlot* plot = customPlot();
    const bool norm = isNormKey(key);
    QCPGraph* graph = plot->addGraph(plot->xAxis, norm ? plot->yAxis2 : plot->yAxis);
    const SeriesLook* look = lookFor(key);
    const QColor color =
        look ? PlotStyle::seriesColor(look->color) : PlotStyle::seriesColor(int(qHash(key) % 8));
    QPen pen(color, 1.5);
    if (key == QLatin1String("squat/rho")) {
        pen.setStyle(Qt::DotLine);
    } else if (norm) {
        pen.setStyle(Qt::DashLine);  // dashed: read against the right (log) axis
    } else if (key == kCleanLoss) {
        pen.setColor(PlotStyle::lighter(color, 0.25));
    }
    graph->setPen(pen);
    graph->setName(seriesName(key));
    return graph;
}

QStringList MethodStatePlot::seriesKeys() const {
    QStringList keys = m_series.keys();
    std::stable_sort(keys.begin(), keys.end(), [this](const QString& a, const QString& b) {
        return m_series.value(a).order < m_series.value(b).order;
    });
    return keys;
}

void MethodStatePlot::updateAxes() {
    QCustomPlot* plot = customPlot();
    bool left = false;
    bool right = false;
    QStringList leftKeys;
    for (auto it = m_series.cbegin(); it != m_series.cend(); ++it) {
        if (isNormKey(it.key())) {
            right = true;
        } else {
            left = true;
            leftKeys << it.key();
        }
    }
    // The left axis says what it holds: lambda alone, losses alone, or both.
    const bool lambda = leftKeys.contains(QStringLiteral("nt/lambda"));
    plot->yAxis->setLabel(lambda && leftKeys.size() == 1 ? tr("Noise λ_t")
                          : lambda                       ? tr("Loss · λ")
                                                         : tr("Loss"));
    plot->yAxis2->setLabel(tr("Norm (log)"));
    // An axis without a series takes no room; the grid follows the axis that has data.
    plot->yAxis->setVisible(left || !right);
    plot->yAxis2->setVisible(right);
    plot->yAxis->grid()->setVisible(left || !right);
    plot->yAxis2->grid()->setVisible(right && !left);

    plot->legend->clearItems();
    for (const QString& key : seriesKeys()) {
        m_series.value(key).graph->addToLegend();
    }
    setLegendAbove(!m_series.isEmpty(), 4);
}

bool MethodStatePlot::hasData() const {
    return std::any_of(m_series.cbegin(), m_series.cend(),
                       [](const Series& s) { return !s.graph->data()->isEmpty(); });
}

void MethodStatePlot::fitRanges() {
    QCustomPlot* plot = customPlot();
    if (m_steps.valid()) {
        const double pad = std::max((m_steps.hi - m_steps.lo) * 0.01, 0.5);
        plot->xAxis->setRange(m_steps.lo - pad, m_steps.hi + pad);
    } else {
        plot->xAxis->setRange(0.0, 1000.0);
    }
    if (m_linear.valid()) {
        // From zero for non-negative values (losses, lambda), so their size reads truthfully.
        const double lo = std::min(m_linear.lo, 0.0);
        const double span = std::max(m_linear.hi - lo, 1e-6);
        plot->yAxis->setRange(lo < 0.0 ? lo - 0.05 * span : 0.0, m_linear.hi + 0.05 * span);
    } else {
        plot->yAxis->setRange(0.0, 1.0);
    }
    if (m_log.valid()) {
        const double lo = m_log.lo / 1.4;
        const double hi = m_log.hi * 1.4;
        plot->yAxis2->setRange(lo, hi > lo * 10.0 ? hi : lo * 10.0);
    } else {
        plot->yAxis2->setRange(0.01, 10.0);
    }
}

}  // namespace qs::ui
