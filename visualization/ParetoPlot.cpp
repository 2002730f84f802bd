#include "visualization/ParetoPlot.h"

#include "visualization/PlotStyle.h"

#include <QStringList>
#include <QToolTip>

#include <algorithm>
#include <cmath>
#include <limits>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

// A click or hover this close to a marker (pixels) picks it.
constexpr double kPickPixels = 8.0;

QString omegaText(double omega) {
    return QString::number(omega, 'g', 3);
}

}  // namespace

ParetoPlot::ParetoPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    plot->xAxis->setLabel(tr("Model size (kB)"));
    QCPAxis* y = plot->yAxis;
    y->setLabel(tr("Total sensitivity \u03a3 \u03a9(b)"));
    setLogTicks(y);
    y->setNumberFormat(QStringLiteral("eb"));
    y->setNumberPrecision(0);

    const QColor lineColor = PlotStyle::seriesColor(0);
    m_line = plot->addGraph();
    m_line->setName(tr("Pareto frontier"));
    // The best Omega under a budget is that of the largest point within it: it holds from each
    // point's size up to the next one's.
    m_line->setLineStyle(QCPGraph::lsStepLeft);
    m_line->setPen(QPen(lineColor, 1.8));
    m_line->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(lineColor, 1.2),
                                            PlotStyle::lighter(lineColor, 0.35), 6));

    const QColor uniformColor = PlotStyle::seriesColor(1);
    m_uniform = plot->addGraph();
    m_uniform->setName(tr("Uniform bits"));
    m_uniform->setLineStyle(QCPGraph::lsNone);
    m_uniform->setPen(QPen(uniformColor.darker(130), 1.2));
    m_uniform->setScatterStyle(QCPScatterStyle(
        QCPScatterStyle::ssDiamond, QPen(uniformColor.darker(130), 1.2), uniformColor, 10));

    m_clamped = addClampedMarkers(plot);

    m_chosenMark = plot->addGraph();
    m_chosenMark->setName(tr("Chosen for the budget"));
    m_chosenMark->setLineStyle(QCPGraph::lsNone);
    const QPen ringPen(PlotStyle::selectionPenColor(), 2.2);
    m_chosenMark->setPen(ringPen);
    m_chosenMark->setScatterStyle(
        QCPScatterStyle(QCPScatterStyle::ssCircle, ringPen, Qt::NoBrush, 14));
    // Icons tall enough for the whole ring.
    plot->legend->setIconSize(22, 17);

    const QColor budgetColor = PlotStyle::seriesColor(3);
    m_budgetLine = new QCPItemLine(plot);
    for (QCPItemPosition* end : {m_budgetLine->start, m_budgetLine->end}) {
        end->setTypeX(QCPItemPosition::ptPlotCoords);
        end->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    m_budgetLine->setPen(QPen(budgetColor, 1.4, Qt::DashLine));
    m_budgetLine->setSelectable(false);
    m_budgetLabel = new QCPItemText(plot);
    m_budgetLabel->position->setTypeX(QCPItemPosition::ptPlotCoords);
    m_budgetLabel->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    m_budgetLabel->setFont(PlotStyle::legendFont(font()));
    m_budgetLabel->setColor(budgetColor.darker(120));
    m_budgetLabel->setBrush(QColor(255, 255, 255, 220));
    m_budgetLabel->setPadding(QMargins(5, 2, 5, 2));
    m_budgetLabel->setSelectable(false);

    connect(plot, &QCustomPlot::mouseMove, this,
            [this](QMouseEvent* event) { showToolTip(event->pos()); });
    updateChoice();
    fitRanges();
}

ParetoPlot::~ParetoPlot() = default;

void ParetoPlot::setFrontier(const ParetoFrontier& frontier) {
    m_frontier = frontier;
    std::sort(m_frontier.points.begin(), m_frontier.points.end(),
              [](const FrontierPoint& a, const FrontierPoint& b) {
                  return a.sizeBytes < b.sizeBytes ||
                         (a.sizeBytes == b.sizeBytes && a.omega < b.omega);
              });

    double largest = 0.0;
    QVector<double> extent;
    bool anyClamped = false;
    auto consider = [&](const FrontierPoint& point) {
        largest = std::max(largest, point.sizeBytes);
        extent.append(point.omega);
        anyClamped = anyClamped || point.omega <= 0.0;
    };
    for (const FrontierPoint& point : qAsConst(m_frontier.points)) {
        consider(point);
    }
    for (const FrontierPoint& point : qAsConst(m_frontier.uniform)) {
        consider(point);
    }
    // Room above the top point for its label.
    m_fit = LogAxisFit::fit(extent, 0.4, anyClamped);
    m_unitBytes = largest >= 1e6 ? 1e6 : largest >= 1e3 ? 1e3 : 1.0;
    customPlot()->xAxis->setLabel(tr("Model size (%1)").arg(sizeUnit()));

    QVector<double> keys, values, clampedKeys;
    for (const FrontierPoint& point : qAsConst(m_frontier.points)) {
        keys.append(point.sizeBytes / m_unitBytes);
        // NaN leaves a gap in the step line; the clamped marker stands in for the point.
        values.append(point.omega > 0.0 ? point.omega : std::numeric_limits<double>::quiet_NaN());
        if (!(point.omega > 0.0)) {
            clampedKeys.append(keys.last());
        }
    }
    m_line->setData(keys, values, true);

    for (QCPItemText* label : qAsConst(m_uniformLabels)) {
        customPlot()->removeItem(label);
    }
    m_uniformLabels.clear();
    QVector<double> uniformKeys, uniformValues;
    for (auto it = m_frontier.uniform.cbegin(); it != m_frontier.uniform.cend(); ++it) {
        const double key = it->sizeBytes / m_unitBytes;
        uniformKeys.append(key);
        uniformValues.append(m_fit.shown(it->omega));
        if (!(it->omega > 0.0)) {
            clampedKeys.append(key);
        }
        auto* label = new QCPItemText(customPlot());
        label->setText(tr("%1-bit").arg(it.key()));
        label->setFont(PlotStyle::tickFont(font()));
        label->setColor(PlotStyle::textColor());
        label->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
        label->position->setCoords(key, uniformValues.last());
        label->setPadding(QMargins(0, 0, 0, 7));
        label->setSelectable(false);
        m_uniformLabels.append(label);
    }
    m_uniform->setData(uniformKeys, uniformValues);
    if (uniformKeys.isEmpty()) {
        m_uniform->removeFromLegend();
    } else {
        m_uniform->addToLegend();
    }
    std::sort(clampedKeys.begin(), clampedKeys.end());
    m_clamped->setData(clampedKeys, QVector<double>(clampedKeys.size(), m_fit.clampValue), true);
    if (clampedKeys.isEmpty()) {
        m_clamped->removeFromLegend();
    } else {
        m_clamped->addToLegend();
    }
    updateChoice();
    dataChanged();
}

void ParetoPlot::setBudget(double bytes) {
    m_budget = bytes > 0.0 && std::isfinite(bytes) ? bytes : 0.0;
    updateChoice();
    dataChanged();
}

QString ParetoPlot::sizeUnit() const {
    return m_unitBytes >= 1e6 ? tr("MB") : m_unitBytes >= 1e3 ? tr("kB") : tr("B");
}

bool ParetoPlot::hasData() const {
    return !m_frontier.points.isEmpty() || !m_frontier.uniform.isEmpty();
}

void ParetoPlot::fitRanges() {
    double lo = std::numeric_limits<double>::infinity();
    double hi = -lo;
    auto include = [&](double bytes) {
        lo = std::min(lo, bytes / m_unitBytes);
        hi = std::max(hi, bytes / m_unitBytes);
    };
    for (const FrontierPoint& point : qAsConst(m_frontier.points)) {
        include(point.sizeBytes);
    }
    for (const FrontierPoint& point : qAsConst(m_frontier.uniform)) {
        include(point.sizeBytes);
    }
    if (m_budget > 0.0 && hasData()) {
        include(m_budget);
    }
    if (!(hi >= lo)) {
        lo = 0.0;
        hi = 1.0;
    }
    const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(0.1 * std::abs(hi), 1.0);
    customPlot()->xAxis->setRange(lo - pad, hi + pad);
    customPlot()->yAxis->setRange(m_fit.lower, m_fit.upper);
}

void ParetoPlot::plotClicked(const QPoint& pos) {
    const int index = frontierPointAt(pos);
    if (index >= 0) {
        Q_EMIT pointChosen(index);
    }
}

double ParetoPlot::pixelDistance(const QPoint& pos, double sizeBytes, double omega) const {
    const QCustomPlot* plot = customPlot();
    const double dx = plot->xAxis->coordToPixel(sizeBytes / m_unitBytes) - pos.x();
    const double dy = plot->yAxis->coordToPixel(m_fit.shown(omega)) - pos.y();
    return std::hypot(dx, dy);
}

int ParetoPlot::frontierPointAt(const QPoint& pos) const {
    int best = -1;
    double bestDistance = kPickPixels;
    for (int i = 0; i < m_frontier.points.size(); ++i) {
        const FrontierPoint& point = m_frontier.points.at(i);
        const double distance = pixelDistance(pos, point.sizeBytes, point.omega);
        if (distance <= bestDistance) {
            best = i;
            bestDistance = distance;
        }
    }
    return best;
}

void ParetoPlot::showToolTip(const QPoint& pos) {
    if (!customPlot()->axisRect()->rect().contains(pos)) {
        return;
    }
    QString text;
    const int index = frontierPointAt(pos);
    if (index >= 0) {
        text =
            tr("<b>Frontier point %1</b><br>").arg(index) + pointText(m_frontier.points.at(index));
    } else {
        for (auto it = m_frontier.uniform.cbegin(); it != m_frontier.uniform.cend(); ++it) {
            if (pixelDistance(pos, it->sizeBytes, it->omega) <= kPickPixels) {
                text = tr("<b>Every layer at %1 bits</b><br>").arg(it.key()) + pointText(*it);
                break;
            }
        }
    }
    if (text.isEmpty()) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(customPlot()->mapToGlobal(pos), text, customPlot());
}

void ParetoPlot::updateChoice() {
    m_chosen = -1;
    if (m_budget > 0.0) {
        for (int i = 0; i < m_frontier.points.size(); ++i) {
            const double size = m_frontier.points.at(i).sizeBytes;
            // Sorted by size, then Omega: the first of equal sizes has the lowest Omega.
            if (size <= m_budget &&
                (m_chosen < 0 || size > m_frontier.points.at(m_chosen).sizeBytes)) {
                m_chosen = i;
            }
        }
    }
    if (m_chosen >= 0) {
        const FrontierPoint& point = m_frontier.points.at(m_chosen);
        m_chosenMark->setData({point.sizeBytes / m_unitBytes}, {m_fit.shown(point.omega)}, true);
        m_chosenMark->addToLegend();
    } else {
        m_chosenMark->data()->clear();
        m_chosenMark->removeFromLegend();
    }

    const bool shown = m_budget > 0.0 && hasData();
    m_budgetLine->setVisible(shown);
    m_budgetLabel->setVisible(shown);
    setLegendAbove(hasData(), 4);
    if (!shown) {
        return;
    }
    const double x = m_budget / m_unitBytes;
    m_budgetLine->start->setCoords(x, 0.0);
    m_budgetLine->end->setCoords(x, 1.0);
    QString text = tr("budget %1").arg(sizeText(m_budget));
    if (m_chosen >= 0) {
        const FrontierPoint& point = m_frontier.points.at(m_chosen);
        text +=
            tr("\nchosen: %1, \u03a9 = %2").arg(sizeText(point.sizeBytes), omegaText(point.omega));
    } else {
        text += tr("\nno allocation fits");
    }
    m_budgetLabel->setText(text);
    m_budgetLabel->position->setCoords(x, 0.0);
    // On the side of the line with more room: right of it in the left half of the data.
    double lo = m_budget;
    double hi = m_budget;
    for (const FrontierPoint& p : qAsConst(m_frontier.points)) {
        lo = std::min(lo, p.sizeBytes);
        hi = std::max(hi, p.sizeBytes);
    }
    const bool right = m_budget < 0.5 * (lo + hi);
    m_budgetLabel->setPositionAlignment((right ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignTop);
    m_budgetLabel->setTextAlignment(right ? Qt::AlignLeft : Qt::AlignRight);
}

QString ParetoPlot::sizeText(double bytes) const {
    return QStringLiteral("%1 %2").arg(QString::number(bytes / m_unitBytes, 'f', 1), sizeUnit());
}

QString ParetoPlot::pointText(const FrontierPoint& point) const {
    QMap<int, int> layersPerBits;
    for (int bits : point.bits) {
        ++layersPerBits[bits];
    }
    QStringList counts;
    for (auto it = layersPerBits.cbegin(); it != layersPerBits.cend(); ++it) {
        // Bits 0: a layer kept in float (not allocated).
        const QString bits = it.key() > 0 ? tr("%1 bits").arg(it.key()) : tr("float");
        counts.append(tr("%1: %n layer(s)", nullptr, it.value()).arg(bits));
    }
    QString text =
        tr("size %1<br>\u03a9 = %2").arg(sizeText(point.sizeBytes), omegaText(point.omega));
    if (point.bitOps > 0.0) {
        text += tr("<br>BitOps %1").arg(QString::number(point.bitOps, 'g', 3));
    }
    if (!counts.isEmpty()) {
        text += QStringLiteral("<br>") + counts.join(QStringLiteral(", "));
    }
    return text;
}

}  // namespace qs::ui
