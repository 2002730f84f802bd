// LayerBarChart: the part BitWidthChart and QuantErrorChart share. One category per layer along
// x, labelled with the layer's parameter path (rotated; thinned out when they would overlap);
// the selected layer's bars drawn with the selection pen over a highlight band; a click on a
// layer's column emits layerClicked; hovering shows the layer's values as a tooltip.
#pragma once

#include "visualization/PlotWidget.h"
#include "visualization/ViewData.h"

#include <QSharedPointer>
#include <QStringList>
#include <QVector>

class QCPBars;
class QCPAxisTicker;
class QCPBarsGroup;
class QCPItemRect;

namespace qs::ui {

class LayerBarChart : public PlotWidget {
    Q_OBJECT
public:
    explicit LayerBarChart(QWidget* parent = nullptr);
    ~LayerBarChart() override;

    /// Highlights that layer's bars; an empty or unknown name removes the highlight.
    void setSelectedLayer(const QString& layer);
    QString selectedLayer() const { return m_selected; }
    /// The categories along x, in the order given to setLayers().
    QStringList layerNames() const { return m_names; }

Q_SIGNALS:
    /// The user clicked inside a layer's column (the chart does not select it by itself: the
    /// owner decides and calls setSelectedLayer, so all views follow one selection hub).
    void layerClicked(const QString& layer);

protected:
    /// Bar width and gap between the bars of one layer, in category units (layer i sits at i).
    static constexpr double kBarWidth = 0.36;
    static constexpr double kBarGap = 0.04;
    /// Key offset of the centre of bar `slot` (0 or 1) of a layer's pair of bars.
    static double slotOffset(int slot) { return (slot == 0 ? -0.5 : 0.5) * (kBarWidth + kBarGap); }

    /// Replaces the categories and the tick labels with the layers' names; keeps the selection
    /// if the layer remains. Another set of layers (another model) re-enables auto-range: the
    /// user's zoom no longer means anything.
    void setCategories(const QVector<LayerRow>& layers);
    /// A bar series in the house style, grouped side by side with the others, that shows the
    /// selected layer with the selection pen.
    QCPBars* addBars(const QString& name, const QColor& color);
    /// Marks the selected layer in every series; call after refilling bar data.
    void applySelection();
    /// The x range that shows every category.
    void fitCategoryRange();
    /// Text of the hover tooltip for category `index`.
    virtual QString toolTipFor(int index) const = 0;

    bool hasData() const override { return !m_names.isEmpty(); }
    void plotClicked(const QPoint& pos) override;

private:
    int categoryAt(const QPoint& pos) const;
    void showToolTip(const QPoint& pos);

    QStringList m_names;
    QString m_selected;
    QVector<QCPBars*> m_bars;
    QCPBarsGroup* m_group = nullptr;
    QCPItemRect* m_band = nullptr;
    QSharedPointer<QCPAxisTicker> m_ticker;
};

}  // namespace qs::ui
