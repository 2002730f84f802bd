// BitWidthChart: the bit-widths of every layer, weight and activation bars side by side. A float
// slot (bits 0) is drawn as a hatched bar to the top of the range and labelled "fp".
#pragma once

#include "visualization/LayerBarChart.h"
#include "visualization/ViewData.h"

#include <QList>
#include <QVector>

class QCPItemText;

namespace qs::ui {

class BitWidthChart : public LayerBarChart {
    Q_OBJECT
public:
    explicit BitWidthChart(QWidget* parent = nullptr);
    ~BitWidthChart() override;

    /// Replaces the layers (one category each, in the given order).
    void setLayers(const QVector<LayerRow>& layers);

protected:
    void fitRanges() override;
    QString toolTipFor(int index) const override;

private:
    int topBits() const;

    QVector<LayerRow> m_layers;
    QCPBars* m_weight = nullptr;
    QCPBars* m_act = nullptr;
    QCPBars* m_weightFloat = nullptr;  ///< stacked on m_weight so it shares its slot
    QCPBars* m_actFloat = nullptr;
    QList<QCPItemText*> m_floatLabels;
};

}  // namespace qs::ui
