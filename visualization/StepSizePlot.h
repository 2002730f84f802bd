// StepSizePlot: how each layer's weight step size drifts during training, one line per layer
// (the mean over channels for per-channel steps) on a log axis. Up to kMaxLegendLayers visible
// lines get distinct colours and a legend; more are coloured by depth instead, with a note.
#pragma once

#include "visualization/PlotWidget.h"
#include "visualization/ViewData.h"

#include <QHash>
#include <QStringList>
#include <QVector>

class QCPGraph;
class QCPItemText;

namespace qs::ui {

class StepSizePlot : public PlotWidget {
    Q_OBJECT
public:
    /// More visible layers than this are drawn without a legend, coloured by depth.
    static constexpr int kMaxLegendLayers = 8;

    explicit StepSizePlot(QWidget* parent = nullptr);
    ~StepSizePlot() override;

    /// Removes every line; keeps the visible-layer filter and the selection.
    void clear();
    /// Appends one point per quantized layer of the snapshot (float layers have no step).
    void appendSnapshot(const LayerSnapshot& snapshot);
    /// Replaces everything with these snapshots (ordered by step).
    void setSnapshots(const QVector<LayerSnapshot>& snapshots);
    /// Shows only these layers; an empty list shows all of them.
    void setVisibleLayers(const QStringList& layers);
    /// Draws that layer's line thicker and on top; empty: no selection.
    void setSelectedLayer(const QString& layer);
    QString selectedLayer() const { return m_selected; }
    /// The layers that have a line, in the order they first appeared (the model's order).
    QStringList layers() const { return m_order; }

protected:
    bool hasData() const override;
    void fitRanges() override;

private:
    QCPGraph* graphFor(const QString& layer, bool* created);
    bool isShown(const QString& layer) const;
    void applyStyles();

    QStringList m_order;
    QHash<QString, QCPGraph*> m_graphs;
    QStringList m_visibleFilter;
    QString m_selected;
    QCPItemText* m_depthNote = nullptr;
};

}  // namespace qs::ui
