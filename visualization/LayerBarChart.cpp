#include "visualization/LayerBarChart.h"

#include "visualization/PlotStyle.h"

#include <QFontMetricsF>
#include <QToolTip>

#include <cmath>
#include <functional>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

// Negative: QCustomPlot then ends each label at its tick, reading down to the left.
constexpr double kTickLabelRotation = -60.0;

/// One tick per layer, labelled with its name; every k-th only when the labels would overlap.
/// The spacing is decided while ticks are generated (before the layout), from a callback that
/// estimates the axis length for the size being drawn, so exports at other sizes thin correctly.
class CategoryTicker : public QCPAxisTicker {
public:
    CategoryTicker(std::function<double()> axisPixels, QFont font)
        : m_axisPixels(std::move(axisPixels)), m_font(std::move(font)) {}

    void setNames(const QStringList& names) { m_names = names; }

protected:
    double getTickStep(const QCPRange& range) override {
        // A rotated label needs about one line height / sin(rotation) of axis length.
        const double needed = QFontMetricsF(m_font).height() * 1.15 /
                              std::abs(std::sin(kTickLabelRotation * M_PI / 180.0));
        const double pixelsPerCategory = m_axisPixels() / std::max(range.size(), 1e-9);
        if (!(pixelsPerCategory > 0.0) || pixelsPerCategory >= needed) {
            return 1.0;
        }
        return std::ceil(needed / pixelsPerCategory);
    }
    int getSubTickCount(double) override { return 0; }
    QVector<double> createTickVector(double tickStep, const QCPRange& range) override {
        QVector<double> ticks;
        const int every = std::max(1, static_cast<int>(tickStep));
        const int first = std::max(0, static_cast<int>(std::ceil(range.lower)));
        const int last = std::min(static_cast<int>(m_names.size()) - 1,
                                  static_cast<int>(std::floor(range.upper)));
        for (int i = (first + every - 1) / every * every; i <= last; i += every) {
            ticks.append(i);
        }
        return ticks;
    }
    QString getTickLabel(double tick, const QLocale&, QChar, int) override {
        const int index = static_cast<int>(std::lround(tick));
        return index >= 0 && index < m_names.size() ? m_names.at(index) : QString();
    }

private:
    std::function<double()> m_axisPixels;
    QFont m_font;
    QStringList m_names;
};

}  // namespace

LayerBarChart::LayerBarChart(QWidget* parent) : PlotWidget(parent) {
    QCustomPlot* plot = customPlot();
    m_group = new QCPBarsGroup(plot);
    m_group->setSpacingType(QCPBarsGroup::stPlotCoords);
    m_group->setSpacing(kBarGap);

    // Categories are discrete and the value axes have natural ranges: pan and zoom along x only.
    plot->axisRect()->setRangeDrag(Qt::Horizontal);
    plot->axisRect()->setRangeZoom(Qt::Horizontal);

    QCPAxis* x = plot->xAxis;
    // The axis length for the size about to be drawn: the last layout's axis-rect width,
    // adjusted by how much the viewport changed since (a resize or an export at another size).
    auto axisPixels = [plot] {
        const QCPAxisRect* rect = plot->axisRect();
        const int margins = rect->outerRect().width() - rect->width();
        return double(plot->viewport().width() - margins - plot->plotLayout()->margins().left() -
                      plot->plotLayout()->margins().right());
    };
    m_ticker = QSharedPointer<CategoryTicker>::create(axisPixels, x->tickLabelFont());
    x->setTicker(m_ticker);
    x->setTickLabelRotation(kTickLabelRotation);
    x->grid()->setVisible(false);
    x->setTickLength(0, 3);

    m_band = new QCPItemRect(plot);
    m_band->setLayer(QStringLiteral("background"));
    m_band->setSelectable(false);
    m_band->setPen(Qt::NoPen);
    m_band->setBrush(PlotStyle::highlightColor());
    for (QCPItemPosition* corner : {m_band->topLeft, m_band->bottomRight}) {
        corner->setTypeX(QCPItemPosition::ptPlotCoords);
        corner->setTypeY(QCPItemPosition::ptAxisRectRatio);
    }
    m_band->setVisible(false);

    connect(plot, &QCustomPlot::mouseMove, this,
            [this](QMouseEvent* event) { showToolTip(event->pos()); });
}

LayerBarChart::~LayerBarChart() = default;

void LayerBarChart::setSelectedLayer(const QString& layer) {
    if (layer == m_selected) {
        return;
    }
    m_selected = layer;
    applySelection();
    requestReplot();
}

void LayerBarChart::setCategories(const QVector<LayerRow>& layers) {
    QStringList names;
    names.reserve(layers.size());
    for (const LayerRow& row : layers) {
        names.append(row.layer);
    }
    if (names != m_names) {
        enableAutoRange();
    }
    m_names = names;
    static_cast<CategoryTicker*>(m_ticker.data())->setNames(names);
}

QCPBars* LayerBarChart::addBars(const QString& name, const QColor& color) {
    auto* bars = new QCPBars(customPlot()->xAxis, customPlot()->yAxis);
    bars->setName(name);
    bars->setWidth(kBarWidth);
    bars->setWidthType(QCPBars::wtPlotCoords);
    bars->setPen(QPen(color.darker(115), 1));
    bars->setBrush(color);
    bars->setBarsGroup(m_group);
    bars->setAntialiased(false);  // crisp edges on the pixel grid
    // Programmatic selection only: the plot has no QCP::iSelectPlottables interaction.
    bars->setSelectable(QCP::stSingleData);
    bars->selectionDecorator()->setPen(QPen(PlotStyle::selectionPenColor(), 1.6));
    bars->selectionDecorator()->setBrush(color.darker(125));
    m_bars.append(bars);
    return bars;
}

void LayerBarChart::applySelection() {
    const int index = m_names.indexOf(m_selected);
    for (QCPBars* bars : qAsConst(m_bars)) {
        QCPDataSelection selection;
        if (index >= 0) {
            const auto data = bars->data();
            for (int i = 0; i < data->size(); ++i) {
                if (qRound(data->at(i)->key) == index) {
                    selection.addDataRange(QCPDataRange(i, i + 1));
                    break;
                }
            }
        }
        bars->setSelection(selection);
    }
    m_band->setVisible(index >= 0);
    if (index >= 0) {
        m_band->topLeft->setCoords(index - 0.5, 0.0);
        m_band->bottomRight->setCoords(index + 0.5, 1.0);
    }
}

void LayerBarChart::fitCategoryRange() {
    const int n = std::max<int>(static_cast<int>(m_names.size()), 1);
    customPlot()->xAxis->setRange(-0.6, n - 0.4);
}

void LayerBarChart::plotClicked(const QPoint& pos) {
    const int index = categoryAt(pos);
    if (index >= 0) {
        Q_EMIT layerClicked(m_names.at(index));
    }
}

int LayerBarChart::categoryAt(const QPoint& pos) const {
    const double key = customPlot()->xAxis->pixelToCoord(pos.x());
    const int index = static_cast<int>(std::lround(key));
    return index >= 0 && index < m_names.size() ? index : -1;
}

void LayerBarChart::showToolTip(const QPoint& pos) {
    if (!customPlot()->axisRect()->rect().contains(pos)) {
        return;
    }
    const int index = categoryAt(pos);
    if (index < 0) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(customPlot()->mapToGlobal(pos), toolTipFor(index), customPlot());
}

}  // namespace qs::ui
