// The layer table of the active run: a sortable view over LayerTableModel. Selecting a row makes
// that layer the hub's active layer, and the hub's active layer selects its row, so the table, the
// charts and the histogram always point at the same layer. The hub's planned allocation fills the
// Allocated column, placed right after W bits and shown while there is one.
#pragma once

#include <QMap>
#include <QWidget>

class QLabel;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;

namespace qs::ui {

class ActiveRunData;
class EmptyStateWidget;
class LayerTableModel;
class SelectionHub;
struct LayerSnapshot;

class LayerTableView : public QWidget {
    Q_OBJECT
public:
    LayerTableView(ActiveRunData* data, SelectionHub* hub, QWidget* parent = nullptr);

    LayerTableModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* tableView() const { return m_table; }
    /// The layer of the selected row, or empty.
    QString selectedLayer() const;

private:
    void updateFromModel();
    void onLayersAppended(const LayerSnapshot& snapshot);
    void onActiveLayerChanged(const QString& layer);
    void onPlannedAllocationChanged(const QMap<QString, int>& bits);
    void onSelectionChanged();
    void selectLayer(const QString& layer);
    void fitColumns();

    ActiveRunData* m_data;
    SelectionHub* m_hub;
    LayerTableModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_table;
    QLabel* m_caption;
    EmptyStateWidget* m_empty;
    QStackedWidget* m_stack;
    /// Set while the view moves its own selection, so that move is not echoed back to the hub.
    bool m_selecting = false;
    int m_fittedRows = -1;  ///< row count the column widths were fitted for
};

}  // namespace qs::ui
