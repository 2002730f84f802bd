// OmegaChart: every layer's sensitivity Omega_i(b) for each candidate bit-width b (ALGORITHMS.md
// section 5), one line with markers per b across the layers, on a log axis; the allocation in
// force is marked by a ring on each layer's chosen b. Non-positive Omegas (from a negative trace
// estimate) are drawn clamped at the bottom (LogAxisFit).
#pragma once

#include "visualization/LayerBarChart.h"
#include "visualization/LogAxisFit.h"
#include "visualization/SensitivityData.h"

#include <QMap>
#include <QString>
#include <QVector>

class QCPGraph;

namespace qs::ui {

class OmegaChart : public LayerBarChart {
    Q_OBJECT
public:
    explicit OmegaChart(QWidget* parent = nullptr);
    ~OmegaChart() override;

    /// Replaces the layers (one category each, in the given order). The candidate bit-widths
    /// are the union of the layers' Omega keys.
    void setLayers(const QVector<LayerSensitivity>& layers);
    const QVector<LayerSensitivity>& layers() const { return m_layers; }
    /// The candidate bit-widths drawn, ascending.
    QVector<int> candidateBits() const { return m_lines.keys().toVector(); }

    /// Rings each layer's Omega at its allocated bits (layer -> bits). Layers missing from the
    /// map, or allocated bits without an Omega, get no ring; an empty map removes them all.
    void setAllocation(const QMap<QString, int>& bits);
    QMap<QString, int> allocation() const { return m_allocation; }

protected:
    void fitRanges() override;
    QString toolTipFor(int index) const override;

private:
    void rebuildLines();
    void updateAllocationMarks();
    void updateLegend();

    QVector<LayerSensitivity> m_layers;
    QMap<QString, int> m_allocation;
    LogAxisFit m_fit;
    QMap<int, QCPGraph*> m_lines;  ///< bits -> its line
    QCPGraph* m_allocated = nullptr;
    QCPGraph* m_clamped = nullptr;
};

}  // namespace qs::ui
