// The runs of the store as a table (the run browser's rows). Display text is formatted for
// reading; SortRole gives raw values (ids, accuracies, timestamps) for numeric sorting. The Name
// column is editable: an edit is reported with renameRequested() and shows up once the store has
// it (the model never changes a run on its own).
#pragma once

#include "visualization/ViewData.h"

#include <QAbstractTableModel>

namespace qs::ui {

class RunListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column {
        Id,
        Name,
        Status,
        Method,
        Bits,
        Arch,
        Dataset,
        EvalAcc,
        BestAcc,
        Created,
        ColumnCount
    };
    enum Role {
        SortRole = Qt::UserRole + 1,
        RunIdRole,      ///< the run id, whatever the column
        FilterTextRole  ///< name, method, status and bits joined, lower case (the filter's text)
    };

    explicit RunListModel(QObject* parent = nullptr);

    void setRuns(const QVector<RunSummary>& runs);
    const QVector<RunSummary>& runs() const { return m_runs; }
    /// Row of a run id, or -1.
    int rowOf(qint64 runId) const;
    /// The colour a status is shown in (also used by the compare view's headers).
    static QColor statusColor(const QString& status);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

Q_SIGNALS:
    /// The user edited a run's name in place.
    void renameRequested(qint64 runId, const QString& name);

private:
    QVector<RunSummary> m_runs;
};

}  // namespace qs::ui
