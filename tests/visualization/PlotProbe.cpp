#include "PlotProbe.h"

#include <qcustomplot.h>

namespace qs::ui::probe {

namespace {

QCPAxis* axisOf(const PlotWidget& plot, Axis axis) {
    QCustomPlot* p = plot.customPlot();
    switch (axis) {
        case Axis::X:
            return p->xAxis;
        case Axis::Y:
            return p->yAxis;
        case Axis::Y2:
            return p->yAxis2;
    }
    return nullptr;
}

}  // namespace

QVector<Series> graphs(const PlotWidget& plot) {
    QVector<Series> out;
    QCustomPlot* p = plot.customPlot();
    for (int i = 0; i < p->graphCount(); ++i) {
        QCPGraph* graph = p->graph(i);
        Series s;
        s.name = graph->name();
        for (const QCPGraphData& point : *graph->data()) {
            s.keys.append(point.key);
            s.values.append(point.value);
        }
        s.visible = graph->visible();
        s.onRightAxis = graph->valueAxis() == p->yAxis2;
        s.inLegend = p->legend->hasItemWithPlottable(graph);
        s.hasMarkers = !graph->scatterStyle().isNone();
        s.pen = graph->pen();
        out.append(s);
    }
    return out;
}

QVector<Bars> bars(const PlotWidget& plot) {
    QVector<Bars> out;
    QCustomPlot* p = plot.customPlot();
    for (int i = 0; i < p->plottableCount(); ++i) {
        auto* b = qobject_cast<QCPBars*>(p->plottable(i));
        if (b == nullptr) {
            continue;
        }
        Bars info;
        info.name = b->name();
        const auto data = b->data();
        for (int j = 0; j < data->size(); ++j) {
            info.keys.append(data->at(j)->key);
            info.values.append(data->at(j)->value);
            if (b->selection().contains(QCPDataSelection(QCPDataRange(j, j + 1)))) {
                info.selectedKeys.append(data->at(j)->key);
            }
        }
        info.brush = b->brush();
        info.pen = b->pen();
        info.selectedBrush = b->selectionDecorator()->brush();
        info.selectedPen = b->selectionDecorator()->pen();
        out.append(info);
    }
    return out;
}

QVector<ErrorBars> errorBars(const PlotWidget& plot) {
    QVector<ErrorBars> out;
    QCustomPlot* p = plot.customPlot();
    for (int i = 0; i < p->plottableCount(); ++i) {
        auto* e = qobject_cast<QCPErrorBars*>(p->plottable(i));
        if (e == nullptr) {
            continue;
        }
        ErrorBars info;
        info.name = e->name();
        const QCPPlottableInterface1D* points =
            e->dataPlottable() != nullptr ? e->dataPlottable()->interface1D() : nullptr;
        const auto data = e->data();
        for (int j = 0; j < data->size(); ++j) {
            if (points != nullptr && j < points->dataCount()) {
                info.keys.append(points->dataMainKey(j));
                info.values.append(points->dataMainValue(j));
            }
            info.minus.append(data->at(j).errorMinus);
            info.plus.append(data->at(j).errorPlus);
        }
        info.inLegend = p->legend->hasItemWithPlottable(e);
        out.append(info);
    }
    return out;
}

QString axisLabel(const PlotWidget& plot, Axis axis) {
    return axisOf(plot, axis)->label();
}

QStringList legendNames(const PlotWidget& plot) {
    QStringList out;
    QCPLegend* legend = plot.customPlot()->legend;
    for (int i = 0; i < legend->itemCount(); ++i) {
        if (auto* item = qobject_cast<QCPPlottableLegendItem*>(legend->item(i))) {
            out.append(item->plottable()->name());
        }
    }
    return out;
}

Range range(const PlotWidget& plot, Axis axis) {
    const QCPRange r = axisOf(plot, axis)->range();
    return Range{r.lower, r.upper};
}

bool isLogarithmic(const PlotWidget& plot, Axis axis) {
    return axisOf(plot, axis)->scaleType() == QCPAxis::stLogarithmic;
}

int lineItemCount(const PlotWidget& plot) {
    int count = 0;
    QCustomPlot* p = plot.customPlot();
    for (int i = 0; i < p->itemCount(); ++i) {
        if (qobject_cast<QCPItemLine*>(p->item(i)) != nullptr) {
            ++count;
        }
    }
    return count;
}

QStringList visibleTexts(const PlotWidget& plot) {
    QStringList out;
    QCustomPlot* p = plot.customPlot();
    for (int i = 0; i < p->itemCount(); ++i) {
        auto* text = qobject_cast<QCPItemText*>(p->item(i));
        if (text != nullptr && text->visible()) {
            out.append(text->text());
        }
    }
    return out;
}

bool legendShown(const PlotWidget& plot) {
    QCPLegend* legend = plot.customPlot()->legend;
    // In the plot's layout, directly or through a row layout around it.
    QCPLayout* layout = legend->layout();
    while (layout != nullptr && layout != plot.customPlot()->plotLayout()) {
        layout = layout->layout();
    }
    return legend->visible() && layout != nullptr;
}

int legendItemCount(const PlotWidget& plot) {
    return plot.customPlot()->legend->itemCount();
}

QStringList tickLabels(const PlotWidget& plot, Axis axis) {
    return QStringList(axisOf(plot, axis)->tickVectorLabels().toList());
}

QWidget* surface(const PlotWidget& plot) {
    return plot.customPlot();
}

void replotNow(const PlotWidget& plot) {
    plot.customPlot()->replot(QCustomPlot::rpImmediateRefresh);
}

QPoint pixelAt(const PlotWidget& plot, double key, double value) {
    QCustomPlot* p = plot.customPlot();
    return QPointF(p->xAxis->coordToPixel(key), p->yAxis->coordToPixel(value)).toPoint();
}

QPoint axisRectCentre(const PlotWidget& plot) {
    return plot.customPlot()->axisRect()->rect().center();
}

ReplotCounter::ReplotCounter(const PlotWidget& plot) : m_count(std::make_shared<int>(0)) {
    auto count = m_count;
    m_connection = QObject::connect(plot.customPlot(), &QCustomPlot::afterReplot, plot.customPlot(),
                                    [count] { ++*count; });
}

ReplotCounter::~ReplotCounter() {
    QObject::disconnect(m_connection);
}

QStringList resnet20Layers() {
    QStringList names{QStringLiteral("conv1")};
    for (int stage = 1; stage <= 3; ++stage) {
        for (int block = 0; block < 3; ++block) {
            const QString prefix = QStringLiteral("layer%1.%2.").arg(stage).arg(block);
            names << prefix + QStringLiteral("conv1") << prefix + QStringLiteral("conv2");
            if (stage > 1 && block == 0) {
                names << prefix + QStringLiteral("downsample.0");
            }
        }
    }
    names << QStringLiteral("fc");
    return names;
}

}  // namespace qs::ui::probe
