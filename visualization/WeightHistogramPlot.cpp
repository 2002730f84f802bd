#include "visualization/WeightHistogramPlot.h"

#include "visualization/PlotStyle.h"

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

bool isQuantized(const WeightHistogram& h) {
    return h.bits > 0 && h.stepSize > 0.0 && std::isfinite(h.stepSize) && h.qn >= 0.0 &&
           h.qp >= 0.0;
}

/// A vertical line at plot x, spanning the axis rect's height.
QCPItemLine* addVerticalLine(QCustomPlot* plot, double x, const QPen& pen) {
    auto* line = new QCPItemLine(plot);
    for (QCPItemPosition* end : {line->start, line->end}) {
        end->setTypeX(QCPItemPosition::ptPlotCoords);
        end->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    line->start->setCoords(x, 0.0);
    line->end->setCoords(x, 1.0);
    line->setPen(pen);
    line->setSelectable(false);
    return line;
}

}  // namespace

WeightHistogramPlot::WeightHistogramPlot(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    plot->xAxis->setLabel(tr("Weight value"));
    plot->yAxis->setLabel(tr("Count"));
    plot->yAxis->setNumberFormat(QStringLiteral("gb"));

    m_title = new QCPTextElement(plot, QString(), PlotStyle::titleFont(font()));
    m_title->setTextColor(PlotStyle::textColor());
    m_title->setMargins(QMargins(0, 4, 0, 0));
    QFont subtitleFont = PlotStyle::legendFont(font());
    m_subtitle = new QCPTextElement(plot, QString(), subtitleFont);
    m_subtitle->setTextColor(PlotStyle::mutedTextColor());
    m_subtitle->setMargins(QMargins(0, 0, 0, 2));
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, m_title);
    plot->plotLayout()->addElement(1, 0, m_subtitle);

    const QColor histColor = PlotStyle::seriesColor(0);
    m_graph = plot->addGraph();
    m_graph->setName(tr("Weights"));
    m_graph->setLineStyle(QCPGraph::lsStepLeft);
    m_graph->setPen(QPen(histColor.darker(110), 1.2));
    QColor fill = histColor;
    fill.setAlpha(110);
    m_graph->setBrush(fill);

    // Behind the histogram (the grid layer is drawn before the main one).
    QColor clipFill = PlotStyle::seriesColor(1);
    clipFill.setAlpha(30);
    m_clipRange = new QCPItemRect(plot);
    m_clipRange->setLayer(QStringLiteral("grid"));
    m_clipRange->setPen(Qt::NoPen);
    m_clipRange->setBrush(clipFill);
    m_clipRange->setSelectable(false);
    for (QCPItemPosition* corner : {m_clipRange->topLeft, m_clipRange->bottomRight}) {
        corner->setTypeX(QCPItemPosition::ptPlotCoords);
        corner->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    m_clipRange->setVisible(false);

    setEmptyText(tr("No layer selected"));
    fitRanges();
}

WeightHistogramPlot::~WeightHistogramPlot() = default;

void WeightHistogramPlot::setHistogram(const WeightHistogram& histogram) {
    const bool sameLayer =
        histogram.runId == m_histogram.runId && histogram.layer == m_histogram.layer && hasData();
    m_histogram = histogram;
    removeGrid();
    if (!hasData()) {
        m_graph->data()->clear();
        m_title->setText(QString());
        m_subtitle->setText(QString());
        dataChanged();
        return;
    }

    const int n = static_cast<int>(histogram.counts.size());
    const double width = (histogram.hi - histogram.lo) / n;
    // lsStepLeft draws each bin from its left edge to the next key; the closing point at `hi`
    // gives the last bin its full width.
    QVector<double> keys(n + 1);
    QVector<double> values(n + 1);
    for (int i = 0; i < n; ++i) {
        keys[i] = histogram.lo + i * width;
        values[i] = histogram.counts.at(i);
    }
    keys[n] = histogram.hi;
    values[n] = histogram.counts.at(n - 1);
    m_graph->setData(keys, values, true);

    const QString precision =
        isQuantized(histogram) ? QStringLiteral("W%1").arg(histogram.bits) : tr("float");
    m_title->setText(
        tr("%1 at step %2, %3").arg(histogram.layer).arg(histogram.step).arg(precision));
    if (isQuantized(histogram)) {
        buildGrid();
    } else {
        m_subtitle->setText(tr("float weights: no quantization grid"));
    }

    if (!sameLayer) {
        enableAutoRange();  // another layer: the user's zoom on the previous one does not apply
    }
    dataChanged();
}

void WeightHistogramPlot::clear() {
    setHistogram(WeightHistogram{});
}

QString WeightHistogramPlot::title() const {
    return m_title->text();
}

QString WeightHistogramPlot::subtitle() const {
    return m_subtitle->text();
}

bool WeightHistogramPlot::hasData() const {
    return !m_histogram.counts.isEmpty() && m_histogram.hi > m_histogram.lo;
}

void WeightHistogramPlot::fitRanges() {
    QCustomPlot* plot = customPlot();
    if (!hasData()) {
        plot->xAxis->setRange(-1.0, 1.0);
        plot->yAxis->setRange(0.0, 1.0);
        return;
    }
    double lo = m_histogram.lo;
    double hi = m_histogram.hi;
    if (isQuantized(m_histogram)) {
        // The whole grid is in view, with half a step beyond its ends.
        lo = std::min(lo, -(m_histogram.qn + 0.5) * m_histogram.stepSize);
        hi = std::max(hi, (m_histogram.qp + 0.5) * m_histogram.stepSize);
    }
    const double pad = 0.02 * (hi - lo);
    plot->xAxis->setRange(lo - pad, hi + pad);
    const double peak = *std::max_element(m_histogram.counts.cbegin(), m_histogram.counts.cend());
    plot->yAxis->setRange(0.0, peak > 0.0 ? peak * 1.08 : 1.0);
}

void WeightHistogramPlot::removeGrid() {
    for (QCPItemLine* line : qAsConst(m_gridLines)) {
        customPlot()->removeItem(line);
    }
    m_gridLines.clear();
    m_clipRange->setVisible(false);
}

void WeightHistogramPlot::buildGrid() {
    QCustomPlot* plot = customPlot();
    const double step = m_histogram.stepSize;
    const qint64 kMin = -std::llround(m_histogram.qn);
    const qint64 kMax = std::llround(m_histogram.qp);
    const double clipLo = kMin * step;
    const double clipHi = kMax * step;

    m_clipRange->topLeft->setCoords(clipLo, 0.0);
    m_clipRange->bottomRight->setCoords(clipHi, 1.0);
    m_clipRange->setVisible(true);

    const qint64 count = kMax - kMin + 1;
    // Dense grids get fainter lines so that the histogram stays readable through them.
    const int alpha = count <= 32 ? 120 : count <= 128 ? 70 : 40;
    const QPen gridPen(QColor(40, 40, 40, alpha), 1.0);
    const QPen clipPen(PlotStyle::seriesColor(1).darker(120), 1.5, Qt::DashLine);
    if (count <= kMaxGridLines) {
        for (qint64 k = kMin; k <= kMax; ++k) {
            const bool end = k == kMin || k == kMax;
            QCPItemLine* line = addVerticalLine(plot, k * step, end ? clipPen : gridPen);
            line->setAntialiased(end);
            m_gridLines.append(line);
        }
    }
    m_subtitle->setText(tr("step size s = %1   \u00b7   grid k\u00b7s for k in [%2, %3]   \u00b7   "
                           "clip range [%4, %5]")
                            .arg(QString::number(step, 'g', 3))
                            .arg(kMin)
                            .arg(kMax)
                            .arg(QString::number(clipLo, 'g', 3), QString::number(clipHi, 'g', 3)));
}

}  // namespace qs::ui
