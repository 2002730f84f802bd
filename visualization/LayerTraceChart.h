// LayerTraceChart: the Hessian trace of every layer's weight block, Tr(H_i), as bars with error
// bars of +- 1 or 2 standard errors of the Hutchinson estimate (ALGORITHMS.md section 5). The value
// axis is logarithmic by default (traces span orders of magnitude); there a zero or negative
// estimate is drawn as a clamped marker at the bottom (LogAxisFit) and a lower error end at or
// below zero is cut at the axis bottom. The linear axis shows every value as it is.
#pragma once

#include "visualization/LayerBarChart.h"
#include "visualization/LogAxisFit.h"
#include "visualization/SensitivityData.h"

#include <QStringList>
#include <QVector>

class QCPErrorBars;
class QCPGraph;

namespace qs::ui {

class LayerTraceChart : public LayerBarChart {
    Q_OBJECT
public:
    explicit LayerTraceChart(QWidget* parent = nullptr);
    ~LayerTraceChart() override;

    /// Replaces the layers (one category each, in the given order).
    void setLayers(const QVector<LayerSensitivity>& layers);
    const QVector<LayerSensitivity>& layers() const { return m_layers; }

    /// Logarithmic (the default) or linear value axis.
    void setLogScale(bool log);
    bool isLogScale() const { return m_log; }

    /// Error bars span +- `count` standard errors: 1, or 2 (the default, about a 95% interval).
    /// Other values are clamped to that range.
    void setStandardErrors(int count);
    int standardErrors() const { return m_errorCount; }

    /// The layers drawn clamped because their trace is zero or negative (log axis only).
    QStringList clampedLayers() const;

protected:
    void fitRanges() override;
    QString toolTipFor(int index) const override;

private:
    void rebuild();

    QVector<LayerSensitivity> m_layers;
    bool m_log = true;
    int m_errorCount = 2;
    LogAxisFit m_fit;
    QCPBars* m_bars = nullptr;
    QCPErrorBars* m_errors = nullptr;
    QCPGraph* m_clamped = nullptr;
};

}  // namespace qs::ui
