#include "visualization/PlotWidget.h"

#include "visualization/PlotStyle.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include <qcustomplot.h>

namespace qs::ui {

namespace {

/// Fractions shown as percent. QCustomPlot picks the tick positions; only the text changes.
class PercentTicker : public QCPAxisTicker {
protected:
    QString getTickLabel(double tick, const QLocale& locale, QChar formatChar,
                         int precision) override {
        double percent = tick * 100.0;
        if (std::abs(percent) < 1e-9) {
            percent = 0.0;  // ticks computed as multiples of the step land at -1e-17, not 0
        }
        return locale.toString(percent, 'g', 4) + QLatin1Char('%');
    }
};

/// Ticks on a log axis: 1-2-5 in every decade when the range spans little more than two
/// decades (QCustomPlot's own log ticker would give only two or three ticks there), each decade
/// up to eight decades, and every n-th decade beyond.
class DecadeTicker : public QCPAxisTickerLog {
protected:
    QVector<double> createTickVector(double tickStep, const QCPRange& range) override {
        QVector<double> ticks;
        if (!(range.lower > 0.0) || !(range.upper > range.lower)) {
            return ticks;
        }
        const double decades = std::log10(range.upper / range.lower);
        const int first = static_cast<int>(std::floor(std::log10(range.lower)));
        const int last = static_cast<int>(std::ceil(std::log10(range.upper)));
        const int every = decades <= 8.0 ? 1 : static_cast<int>(std::ceil(decades / 8.0));
        for (int e = first; e <= last; ++e) {
            if (e % every != 0) {
                continue;
            }
            const double power = std::pow(10.0, e);
            ticks.append(power);
            if (decades <= 2.3) {
                ticks.append(2.0 * power);
                ticks.append(5.0 * power);
            }
        }
        std::sort(ticks.begin(), ticks.end());
        return ticks;
    }
    int getSubTickCount(double) override { return 0; }
};

// A press and release closer than this (Manhattan, pixels) is a click, not a drag.
constexpr int kClickSlopPixels = 4;

}  // namespace

PlotWidget::PlotWidget(QWidget* parent) : QWidget(parent), m_plot(new QCustomPlot(this)) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);

    m_plot->setBackground(Qt::white);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setContextMenuPolicy(Qt::CustomContextMenu);
    m_plot->plotLayout()->setMargins(QMargins(4, 4, 8, 4));

    QCPAxisRect* rect = m_plot->axisRect();
    for (QCPAxis* axis : rect->axes()) {
        styleAxis(axis);
    }
    m_plot->xAxis2->setVisible(false);
    m_plot->yAxis2->setVisible(false);

    m_plot->legend->setFont(PlotStyle::legendFont(font()));
    m_plot->legend->setTextColor(PlotStyle::textColor());
    m_plot->legend->setBorderPen(Qt::NoPen);
    m_plot->legend->setBrush(QColor(255, 255, 255, 230));
    m_plot->legend->setIconSize(22, 10);
    m_plot->legend->setVisible(false);

    m_emptyItem = new QCPItemText(m_plot);
    m_emptyItem->setLayer(QStringLiteral("overlay"));
    m_emptyItem->setClipToAxisRect(false);
    m_emptyItem->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_emptyItem->position->setCoords(0.5, 0.5);
    m_emptyItem->setPositionAlignment(Qt::AlignCenter);
    m_emptyItem->setFont(PlotStyle::emptyFont(font()));
    m_emptyItem->setColor(PlotStyle::mutedTextColor());
    m_emptyItem->setText(tr("No run selected"));
    m_emptyItem->setSelectable(false);

    connect(m_plot, &QCustomPlot::beforeReplot, this, &PlotWidget::applyPendingFit);
    connect(m_plot, &QCustomPlot::mousePress, this, &PlotWidget::onMousePress);
    connect(m_plot, &QCustomPlot::mouseMove, this, &PlotWidget::onMouseMove);
    connect(m_plot, &QCustomPlot::mouseRelease, this, &PlotWidget::onMouseRelease);
    connect(m_plot, &QCustomPlot::mouseWheel, this, &PlotWidget::onMouseWheel);
    connect(m_plot, &QWidget::customContextMenuRequested, this, &PlotWidget::showContextMenu);
}

PlotWidget::~PlotWidget() {
    // The plot outlives the subclass parts of this object (it is a child widget, deleted by
    // ~QWidget): no signal of it may reach a slot that calls into them any more.
    m_plot->disconnect(this);
}

void PlotWidget::setEmptyText(const QString& text) {
    m_emptyItem->setText(text);
    requestReplot();
}

QString PlotWidget::emptyText() const {
    return m_emptyItem->text();
}

bool PlotWidget::isEmptyStateVisible() const {
    return m_emptyItem->visible();
}

void PlotWidget::rescale() {
    if (!m_autoRange) {
        return;
    }
    m_fitPending = false;
    fitRanges();
    requestReplot();
}

void PlotWidget::resetView() {
    m_autoRange = true;
    rescale();
}

bool PlotWidget::savePng(const QString& fileName, int width, int height) {
    prepareForExport();
    return m_plot->savePng(fileName, width, height);
}

bool PlotWidget::savePdf(const QString& fileName, int width, int height) {
    prepareForExport();
    return m_plot->savePdf(fileName, width, height, QCP::epAllowCosmetic,
                           QStringLiteral("Quantscape"));
}

void PlotWidget::dataChanged() {
    updateEmptyState();
    m_fitPending = true;
    requestReplot();
}

void PlotWidget::requestReplot() {
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void PlotWidget::styleAxis(QCPAxis* axis) const {
    const QPen axisPen(PlotStyle::axisColor(), 1);
    axis->setBasePen(axisPen);
    axis->setTickPen(axisPen);
    axis->setSubTickPen(axisPen);
    axis->setTickLengthIn(0);
    axis->setTickLengthOut(4);
    axis->setSubTicks(false);
    axis->setTickLabelFont(PlotStyle::tickFont(font()));
    axis->setTickLabelColor(PlotStyle::textColor());
    axis->setLabelFont(PlotStyle::labelFont(font()));
    axis->setLabelColor(PlotStyle::textColor());
    axis->setLabelPadding(6);
    axis->setTickLabelPadding(4);
    axis->grid()->setPen(QPen(PlotStyle::gridColor(), 1, Qt::SolidLine));
    axis->grid()->setSubGridVisible(false);
    axis->grid()->setZeroLinePen(Qt::NoPen);
}

void PlotWidget::setPercentTicks(QCPAxis* axis) {
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new PercentTicker));
}

void PlotWidget::setLogTicks(QCPAxis* axis) {
    axis->setScaleType(QCPAxis::stLogarithmic);
    axis->setTicker(QSharedPointer<QCPAxisTicker>(new DecadeTicker));
}

void PlotWidget::setLegendAbove(bool shown, int columns) {
    QCPLegend* legend = m_plot->legend;
    QCPLayoutGrid* layout = m_plot->plotLayout();
    if (m_legendRow == nullptr) {
        // A row [stretch | legend | stretch]: the legend keeps its natural width, centred,
        // instead of spreading its columns over the whole plot width.
        m_legendRow = new QCPLayoutGrid;
        layout->insertRow(0);
        layout->addElement(0, 0, m_legendRow);
        if (legend->layout() != nullptr) {
            legend->layout()->take(legend);
        }
        m_legendRow->addElement(0, 1, legend);
        m_legendRow->expandTo(1, 3);
        m_legendRow->setColumnStretchFactors({1.0, 0.001, 1.0});
        m_legendRow->setMargins(QMargins(0, 0, 0, 0));
        legend->setMargins(QMargins(6, 2, 6, 0));
        legend->setColumnSpacing(16);
        legend->setRowSpacing(0);
        legend->setBrush(Qt::NoBrush);
        layout->take(m_legendRow);
        layout->simplify();
    }
    const bool inLayout = m_legendRow->layout() == layout;
    if (shown && !inLayout) {
        // Directly above the axis rect (below a title row, if any).
        int rectRow = 0;
        while (rectRow < layout->rowCount() &&
               qobject_cast<QCPAxisRect*>(layout->element(rectRow, 0)) == nullptr) {
            ++rectRow;
        }
        layout->insertRow(rectRow);
        layout->addElement(rectRow, 0, m_legendRow);
        layout->setRowStretchFactor(rectRow, 0.001);
    } else if (!shown && inLayout) {
        layout->take(m_legendRow);
        layout->simplify();
    }
    legend->setWrap(columns);
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    legend->setVisible(shown);
}

void PlotWidget::onMousePress(QMouseEvent* event) {
    m_pressed = event->button() == Qt::LeftButton;
    m_dragged = false;
    m_pressPos = event->pos();
}

void PlotWidget::onMouseMove(QMouseEvent* event) {
    if (!m_pressed || m_dragged) {
        return;
    }
    if ((event->pos() - m_pressPos).manhattanLength() > kClickSlopPixels) {
        m_dragged = true;
        m_autoRange = false;  // the user moved the view: keep it until "Reset view"
    }
}

void PlotWidget::onMouseRelease(QMouseEvent* event) {
    const bool click = m_pressed && !m_dragged && event->button() == Qt::LeftButton;
    m_pressed = false;
    m_dragged = false;
    if (click && m_plot->axisRect()->rect().contains(event->pos())) {
        plotClicked(event->pos());
    }
}

void PlotWidget::onMouseWheel(QWheelEvent* event) {
    if (m_plot->axisRect()->rect().contains(event->position().toPoint())) {
        m_autoRange = false;
    }
}

void PlotWidget::showContextMenu(const QPoint& pos) {
    auto* menu = new QMenu(this);
    menu->setAttribute(Qt::WA_DeleteOnClose);
    menu->addAction(tr("Reset view"), this, &PlotWidget::resetView);
    menu->addSeparator();
    menu->addAction(tr("Save as PNG..."), this, [this] { saveWithDialog(false); });
    menu->addAction(tr("Save as PDF..."), this, [this] { saveWithDialog(true); });
    menu->popup(m_plot->mapToGlobal(pos));
}

void PlotWidget::saveWithDialog(bool pdf) {
    const QString suffix = pdf ? QStringLiteral("pdf") : QStringLiteral("png");
    const QString filter = pdf ? tr("PDF documents (*.pdf)") : tr("PNG images (*.png)");
    QString fileName = QFileDialog::getSaveFileName(
        this, pdf ? tr("Save plot as PDF") : tr("Save plot as PNG"), QString(), filter);
    if (fileName.isEmpty()) {
        return;
    }
    if (QFileInfo(fileName).suffix().compare(suffix, Qt::CaseInsensitive) != 0) {
        fileName += QLatin1Char('.') + suffix;
    }
    bool ok = false;
    if (pdf) {
        ok = savePdf(fileName, m_plot->width(), m_plot->height());
    } else {
        // The on-screen layout at twice the pixel density, sharp in documents and slides.
        prepareForExport();
        ok = m_plot->savePng(fileName, m_plot->width(), m_plot->height(), 2.0);
    }
    if (!ok) {
        QMessageBox::warning(this, tr("Save plot"), tr("Could not write %1.").arg(fileName));
    }
}

void PlotWidget::prepareForExport() {
    // Exports draw directly, without a replot: apply what a pending replot would have.
    updateEmptyState();
    applyPendingFit();
}

void PlotWidget::updateEmptyState() {
    m_emptyItem->setVisible(!hasData());
}

void PlotWidget::applyPendingFit() {
    if (m_fitPending && m_autoRange) {
        fitRanges();
    }
    m_fitPending = false;
}

}  // namespace qs::ui
