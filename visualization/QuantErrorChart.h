// QuantErrorChart: per-layer quantization error. Weight and activation MSE as bars on a log axis
// (left); the fraction of values clipped to the grid's ends as markers on a percent axis (right).
// Float slots have no error and no clipping, so they have neither bar nor marker.
#pragma once

#include "visualization/LayerBarChart.h"
#include "visualization/ViewData.h"

#include <QVector>

class QCPGraph;

namespace qs::ui {

class QuantErrorChart : public LayerBarChart {
    Q_OBJECT
public:
    explicit QuantErrorChart(QWidget* parent = nullptr);
    ~QuantErrorChart() override;

    /// Replaces the layers (one category each, in the given order).
    void setLayers(const QVector<LayerRow>& layers);

protected:
    void fitRanges() override;
    QString toolTipFor(int index) const override;

private:
    QVector<LayerRow> m_layers;
    QCPBars* m_weightError = nullptr;
    QCPBars* m_actError = nullptr;
    QCPGraph* m_weightClip = nullptr;
    QCPGraph* m_actClip = nullptr;
};

}  // namespace qs::ui
