// The per-layer quantizer state of one snapshot as a table: one row per quantizable layer in
// forward order. Display text is formatted for reading; SortRole gives the raw number so a
// QSortFilterProxyModel sorts numerically (and the Layer column in forward order). The Allocated
// column shows the weight bits of a planned allocation (chosen from the Hessian sensitivities),
// matched by layer name, and is empty without one.
#pragma once

#include "visualization/ViewData.h"

#include <QAbstractTableModel>
#include <QMap>

namespace qs::ui {

class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Layer,
        Shape,
        Params,
        WBits,
        ABits,
        WStep,
        AStep,
        WError,
        AError,
        WClip,
        AClip,
        /// Weight bits of the planned allocation; last in the model so that saved column
        /// settings keep their meaning, shown after W bits by the view.
        Allocated,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,  ///< raw value for sorting
        LayerNameRole,                ///< the parameter path, whatever the column
        BlockRole,  ///< the block a layer belongs to ("layer1.0"; "" for stem/head)
        DepthRole   ///< nesting depth of the layer path (0 for conv1 and fc)
    };

    explicit LayerTableModel(QObject* parent = nullptr);

    /// Replaces the rows; keeps the model's identity when only the values changed (same layers
    /// in the same order), so selection and scroll position survive live updates.
    void setLayers(const QVector<LayerRow>& layers);
    const QVector<LayerRow>& layers() const { return m_rows; }
    /// Row of a layer path, or -1.
    int rowOf(const QString& layer) const;
    /// The planned allocation (layer -> weight bits, 0 = float) shown in the Allocated column;
    /// an empty map empties it. Layers missing from the map show nothing.
    void setAllocation(const QMap<QString, int>& bits);
    const QMap<QString, int>& allocation() const { return m_allocation; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    /// "16×16×3×3"; shared with the config panel's layer editor.
    static QString shapeText(const QVector<qint64>& shape);
    /// "2,304" style grouping with the current locale.
    static QString countText(qint64 count);
    /// The block of a layer path: "layer1.0" for "layer1.0.conv1", "" for "conv1" and "fc".
    static QString blockOf(const QString& layer);

private:
    QVariant displayValue(const LayerRow& row, int column) const;
    QVariant sortValue(const LayerRow& row, int index, int column) const;

    QVector<LayerRow> m_rows;
    QMap<QString, int> m_allocation;
    QVector<int> m_blockIndex;  ///< consecutive block number per row (for alternating shading)
};

}  // namespace qs::ui
