// PlotProbe: reads what a plot widget actually draws (its QCustomPlot's graphs, bars, items,
// axes) and hands it to the tests as plain values. QCustomPlot's header needs the Qt keywords,
// which the tests (compiled with QT_NO_KEYWORDS, STACK.md trap 1) cannot see, so this file's
// .cpp is built apart, like the torch *Cases.cpp files of the engine tests.
#pragma once

#include "visualization/PlotWidget.h"

#include <QBrush>
#include <QColor>
#include <QMetaObject>
#include <QPen>
#include <QPoint>
#include <QString>
#include <QStringList>
#include <QVector>

#include <memory>

namespace qs::ui::probe {

enum class Axis { X, Y, Y2 };

struct Range {
    double lower = 0.0;
    double upper = 0.0;
    bool contains(double value) const { return value >= lower && value <= upper; }
};

/// One QCPGraph.
struct Series {
    QString name;
    QVector<double> keys;
    QVector<double> values;
    bool visible = true;
    bool onRightAxis = false;  ///< value axis is yAxis2
    bool inLegend = false;
    bool hasMarkers = false;
    QPen pen;
};

/// One QCPBars.
struct Bars {
    QString name;
    QVector<double> keys;
    QVector<double> values;
    QVector<double> selectedKeys;
    QBrush brush;
    QPen pen;
    QBrush selectedBrush;  ///< what a selected bar is filled with
    QPen selectedPen;
};

/// One QCPErrorBars: the data points it is attached to and its errors below and above them.
struct ErrorBars {
    QString name;
    QVector<double> keys;
    QVector<double> values;
    QVector<double> minus;
    QVector<double> plus;
    bool inLegend = false;
};

QVector<Series> graphs(const PlotWidget& plot);
QVector<Bars> bars(const PlotWidget& plot);
QVector<ErrorBars> errorBars(const PlotWidget& plot);
/// Label of an axis.
QString axisLabel(const PlotWidget& plot, Axis axis);
/// Names of the legend's entries, in order.
QStringList legendNames(const PlotWidget& plot);
Range range(const PlotWidget& plot, Axis axis);
bool isLogarithmic(const PlotWidget& plot, Axis axis);
/// Number of vertical/straight line items (QCPItemLine).
int lineItemCount(const PlotWidget& plot);
/// Texts of the visible QCPItemText items (annotations, "fp" labels, the empty-state message).
QStringList visibleTexts(const PlotWidget& plot);
/// Whether the legend is visible and part of the layout, and how many entries it has.
bool legendShown(const PlotWidget& plot);
int legendItemCount(const PlotWidget& plot);
/// Tick labels of an axis as last laid out (call replotNow() first).
QStringList tickLabels(const PlotWidget& plot, Axis axis);

/// The QCustomPlot as a QWidget, to send mouse events to.
QWidget* surface(const PlotWidget& plot);
/// Replots synchronously (lays the plot out for pixel positions).
void replotNow(const PlotWidget& plot);
/// Pixel position (in surface() coordinates) of plot coordinates on the x / y axes.
QPoint pixelAt(const PlotWidget& plot, double key, double value);
/// A pixel position inside the axis rect (its centre).
QPoint axisRectCentre(const PlotWidget& plot);

/// Counts QCustomPlot::afterReplot emissions while alive.
class ReplotCounter {
public:
    explicit ReplotCounter(const PlotWidget& plot);
    ~ReplotCounter();
    ReplotCounter(const ReplotCounter&) = delete;
    ReplotCounter& operator=(const ReplotCounter&) = delete;
    int count() const { return *m_count; }

private:
    std::shared_ptr<int> m_count;
    QMetaObject::Connection m_connection;
};

/// The quantizable layers of a ResNet-20 in forward order ("conv1", "layer1.0.conv1", ...,
/// "layer2.0.downsample.0", ..., "fc"): the layer names of the synthetic test data.
QStringList resnet20Layers();

}  // namespace qs::ui::probe
