// The run history: every run in the store, filterable and sortable, with the actions that work on
// runs (open, compare, rename, delete, measure sharpness). Opening sets the hub's active run;
// comparing sets the hub's selected runs. Refreshes itself whenever the backend says the store
// changed.
#pragma once

#include <QWidget>

#include <functional>

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace qs::ui {

class RunBackend;
class RunListModel;
class SelectionHub;

class RunBrowser : public QWidget {
    Q_OBJECT
public:
    RunBrowser(RunBackend* backend, SelectionHub* hub, QWidget* parent = nullptr);

    RunListModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* tableView() const { return m_table; }
    QLineEdit* filterEdit() const { return m_filter; }
    /// Ids of the selected rows, in view order.
    QVector<qint64> selectedRunIds() const;
    void selectRuns(const QVector<qint64>& runIds);

    QAction* openAction() const { return m_open; }
    QAction* compareAction() const { return m_compare; }
    QAction* renameAction() const { return m_rename; }
    QAction* deleteAction() const { return m_delete; }
    /// Opens the selected run (one that has ended) and asks for its sharpness
    /// (sharpnessRequested); in the context menu.
    QAction* sharpnessAction() const { return m_sharpness; }

    /// Asks the user to confirm deleting runs; replaceable so tests need no modal dialog.
    void setDeleteConfirmation(std::function<bool(const QVector<qint64>&)> confirm);

public Q_SLOTS:
    /// Reads the run list from the backend again, keeping the selection.
    void refresh();

Q_SIGNALS:
    /// A store operation failed (rename, delete); the text is ready to show.
    void errorOccurred(const QString& message);
    /// The user asked to compare the selected runs (the hub already has them).
    void compareRequested();
    /// The user asked to measure a run's sharpness (the hub already shows that run).
    void sharpnessRequested(qint64 runId);

private:
    void onFilterChanged(const QString& text);
    void onSelectionChanged();
    void onOpen();
    void onCompare();
    void onRename();
    void onDelete();
    void onSharpness();
    void onRenameRequested(qint64 runId, const QString& name);
    void onActiveRunChanged(qint64 runId);
    void updateActions();
    void updateCount();

    RunBackend* m_backend;
    SelectionHub* m_hub;
    RunListModel* m_model;
    QSortFilterProxyModel* m_proxy;
    QTableView* m_table;
    QLineEdit* m_filter;
    QLabel* m_count;
    QAction* m_open;
    QAction* m_compare;
    QAction* m_rename;
    QAction* m_delete;
    QAction* m_sharpness;
    std::function<bool(const QVector<qint64>&)> m_confirmDelete;
};

}  // namespace qs::ui
