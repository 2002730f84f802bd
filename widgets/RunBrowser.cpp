#include "widgets/RunBrowser.h"

#include "widgets/AnalysisControls.h"
#include "widgets/Icons.h"
#include "widgets/RunBackend.h"
#include "widgets/RunListModel.h"
#include "widgets/SelectionHub.h"
#include "widgets/TextFormat.h"

#include <QAction>
#include <QFont>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace qs::ui {
namespace {

/// Keeps rows whose name, method, status or bits contain every word of the filter text, and
/// shows the active run in bold.
class RunFilterProxy : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setWords(const QStringList& words) {
        m_words = words;
        invalidateFilter();
    }

    void setActiveRun(qint64 runId) {
        m_activeRun = runId;
        if (rowCount() > 0) {
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1),
                               {Qt::FontRole});
        }
    }

    QVariant data(const QModelIndex& index, int role) const override {
        if (role == Qt::FontRole && m_activeRun != 0 &&
            index.data(RunListModel::RunIdRole).toLongLong() == m_activeRun) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return QSortFilterProxyModel::data(index, role);
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override {
        const QString text =
            sourceModel()->index(row, 0, parent).data(RunListModel::FilterTextRole).toString();
        for (const QString& w : m_words) {
            if (!text.contains(w)) {
                return false;
            }
        }
        return true;
    }

private:
    QStringList m_words;
    qint64 m_activeRun = 0;
};

}  // namespace

RunBrowser::RunBrowser(RunBackend* backend, SelectionHub* hub, QWidget* parent)
    : QWidget(parent),
      m_backend(backend),
      m_hub(hub),
      m_model(new RunListModel(this)),
      m_proxy(new RunFilterProxy(this)),
      m_table(new QTableView),
      m_filter(new QLineEdit),
      m_count(new QLabel) {
    setObjectName(QStringLiteral("RunBrowser"));
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(RunListModel::SortRole);

    m_table->setObjectName(QStringLiteral("runTable"));
    m_table->setModel(m_proxy);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::EditKeyPressed);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(RunListModel::Id, Qt::DescendingOrder);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setShowGrid(false);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->setContextMenuPolicy(Qt::CustomContextMenu);

    m_filter->setObjectName(QStringLiteral("runFilter"));
    m_filter->setPlaceholderText(tr("Filter by name, method, status or bits (e.g. \"lsq W4A4\")"));
    m_filter->setClearButtonEnabled(true);

    m_open = new QAction(Icons::icon(Icons::Open), tr("&Open"), this);
    m_open->setToolTip(tr("Show the selected run in every view"));
    m_compare = new QAction(Icons::icon(Icons::Compare), tr("&Compare"), this);
    m_compare->setToolTip(tr("Overlay the selected runs (select two or more)"));
    m_rename = new QAction(Icons::icon(Icons::Rename), tr("&Rename"), this);
    m_rename->setShortcut(QKeySequence(Qt::Key_F2));
    m_rename->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_delete = new QAction(Icons::icon(Icons::Delete), tr("&Delete…"), this);
    m_delete->setShortcut(QKeySequence::Delete);
    m_delete->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_sharpness = new QAction(tr("Measure &sharpness"), this);
    m_sharpness->setObjectName(QStringLiteral("actionBrowserMeasureSharpness"));
    m_sharpness->setToolTip(tr("Measure the sharpness of the selected run's last checkpoint"));
    addActions({m_open, m_compare, m_rename, m_delete});

    auto* bar = new QHBoxLayout;
    bar->setSpacing(4);
    bar->addWidget(m_filter, 1);
    for (QAction* a : {m_open, m_compare, m_rename, m_delete}) {
        auto* b = new QToolButton;
        b->setDefaultAction(a);
        b->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        b->setAutoRaise(true);
        bar->addWidget(b);
    }
    bar->addSpacing(8);
    bar->addWidget(m_count);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(bar);
    layout->addWidget(m_table, 1);

    m_confirmDelete = [this](const QVector<qint64>& ids) {
        QStringList names;
        for (qint64 id : ids) {
            const int row = m_model->rowOf(id);
            names << (row >= 0 ? QStringLiteral("#%1 %2").arg(id).arg(m_model->runs()[row].name)
                               : QStringLiteral("#%1").arg(id));
        }
        return QMessageBox::question(this, tr("Delete runs"),
                                     tr("Delete %1 and everything recorded for them?\n\n%2")
                                         .arg(countNoun(ids.size(), tr("run"), tr("runs")),
                                              names.join(QLatin1Char('\n'))),
                                     QMessageBox::Yes | QMessageBox::Cancel,
                                     QMessageBox::Cancel) == QMessageBox::Yes;
    };

    connect(m_filter, &QLineEdit::textChanged, this, &RunBrowser::onFilterChanged);
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunBrowser::onSelectionChanged);
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex&) { onOpen(); });
    connect(m_table, &QWidget::customContextMenuRequested, this, [this](const QPoint& pos) {
        QMenu menu(this);
        menu.addActions({m_open, m_compare});
        menu.addSeparator();
        menu.addAction(m_sharpness);
        menu.addSeparator();
        menu.addActions({m_rename, m_delete});
        menu.exec(m_table->viewport()->mapToGlobal(pos));
    });
    connect(m_open, &QAction::triggered, this, &RunBrowser::onOpen);
    connect(m_compare, &QAction::triggered, this, &RunBrowser::onCompare);
    connect(m_rename, &QAction::triggered, this, &RunBrowser::onRename);
    connect(m_delete, &QAction::triggered, this, &RunBrowser::onDelete);
    connect(m_sharpness, &QAction::triggered, this, &RunBrowser::onSharpness);
    // Queued: a rename refreshes (resets) the model from the store, which must not happen inside
    // the model's own setData() that reported the edit.
    connect(m_model, &RunListModel::renameRequested, this, &RunBrowser::onRenameRequested,
            Qt::QueuedConnection);
    connect(backend, &RunBackend::runsChanged, this, &RunBrowser::refresh);
    // An analysis that ends frees the sharpness action (one analysis at a time).
    connect(backend, &RunBackend::sharpnessMeasured, this, &RunBrowser::updateActions);
    connect(backend, &RunBackend::analysisFailed, this, &RunBrowser::updateActions);
    connect(hub, &SelectionHub::activeRunChanged, this, &RunBrowser::onActiveRunChanged);

    refresh();
    static_cast<RunFilterProxy*>(m_proxy)->setActiveRun(hub->activeRun());
}

void RunBrowser::setDeleteConfirmation(std::function<bool(const QVector<qint64>&)> confirm) {
    m_confirmDelete = std::move(confirm);
}

QVector<qint64> RunBrowser::selectedRunIds() const {
    QModelIndexList rows = m_table->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(),
              [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
    QVector<qint64> ids;
    for (const QModelIndex& i : rows) {
        ids << i.data(RunListModel::RunIdRole).toLongLong();
    }
    return ids;
}

void RunBrowser::selectRuns(const QVector<qint64>& runIds) {
    QItemSelection selection;
    for (qint64 id : runIds) {
        const int row = m_model->rowOf(id);
        if (row < 0) {
            continue;
        }
        const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, 0));
        if (i.isValid()) {
            selection.select(i, i);
        }
    }
    m_table->selectionModel()->select(
        selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    updateActions();
}

void RunBrowser::refresh() {
    const QVector<qint64> keep = selectedRunIds();
    m_model->setRuns(m_backend->listRuns());
    selectRuns(keep);
    m_table->resizeColumnsToContents();
    if (m_table->columnWidth(RunListModel::Name) > 260) {
        m_table->setColumnWidth(RunListModel::Name, 260);
    }
    updateCount();
    updateActions();
}

void RunBrowser::onFilterChanged(const QString& text) {
    static_cast<RunFilterProxy*>(m_proxy)->setWords(
        text.toLower().split(QLatin1Char(' '), Qt::SkipEmptyParts));
    updateCount();
    updateActions();
}

void RunBrowser::onSelectionChanged() {
    updateActions();
}

void RunBrowser::onActiveRunChanged(qint64 runId) {
    static_cast<RunFilterProxy*>(m_proxy)->setActiveRun(runId);
}

void RunBrowser::updateActions() {
    const int n = selectedRunIds().size();
    m_open->setEnabled(n == 1);
    m_compare->setEnabled(n >= 2);
    m_rename->setEnabled(n == 1);
    m_delete->setEnabled(n >= 1);
    const int row = n == 1 ? m_model->rowOf(selectedRunIds().first()) : -1;
    m_sharpness->setEnabled(row >= 0 && !m_backend->isAnalysing() &&
                            AnalysisControls::canMeasure(m_model->runs()[row].status));
}

void RunBrowser::updateCount() {
    const int shown = m_proxy->rowCount();
    const int all = m_model->rowCount();
    const QString problem = m_backend->storeProblem();
    if (!problem.isEmpty()) {
        // The store could not be read (busy, damaged, not a run store): say so where the count
        // would be, instead of an empty list that looks like "no runs yet".
        m_count->setText(tr("Cannot read the run store: %1").arg(problem));
        m_count->setToolTip(problem);
        m_count->setWordWrap(true);
        return;
    }
    m_count->setToolTip(QString());
    m_count->setText(shown == all ? countNoun(all, tr("run"), tr("runs"))
                                  : tr("%1 of %2 runs").arg(shown).arg(all));
}

void RunBrowser::onOpen() {
    const QVector<qint64> ids = selectedRunIds();
    if (!ids.isEmpty()) {
        m_hub->setActiveRun(ids.first());
    }
}

void RunBrowser::onSharpness() {
    const QVector<qint64> ids = selectedRunIds();
    if (ids.size() != 1) {
        return;
    }
    m_hub->setActiveRun(ids.first());
    Q_EMIT sharpnessRequested(ids.first());
    updateActions();
}

void RunBrowser::onCompare() {
    const QVector<qint64> ids = selectedRunIds();
    if (ids.size() < 2) {
        return;
    }
    m_hub->setSelectedRuns(ids);
    Q_EMIT compareRequested();
}

void RunBrowser::onRename() {
    const QVector<qint64> ids = selectedRunIds();
    if (ids.size() != 1) {
        return;
    }
    const int row = m_model->rowOf(ids.first());
    const QModelIndex i = m_proxy->mapFromSource(m_model->index(row, RunListModel::Name));
    m_table->setCurrentIndex(i);
    m_table->edit(i);
}

void RunBrowser::onRenameRequested(qint64 runId, const QString& name) {
    QString error;
    if (!m_backend->renameRun(runId, name, &error)) {
        Q_EMIT errorOccurred(tr("Could not rename run %1: %2").arg(runId).arg(error));
    }
    refresh();
}

void RunBrowser::onDelete() {
    const QVector<qint64> ids = selectedRunIds();
    if (ids.isEmpty() || !m_confirmDelete(ids)) {
        return;
    }
    for (qint64 id : ids) {
        QString error;
        if (!m_backend->deleteRun(id, &error)) {
            Q_EMIT errorOccurred(tr("Could not delete run %1: %2").arg(id).arg(error));
            continue;
        }
        if (m_hub->activeRun() == id) {
            m_hub->setActiveRun(0);
        }
    }
    // Deleted runs leave the comparison too.
    const QVector<RunSummary> remaining = m_backend->listRuns();
    QVector<qint64> compared;
    for (qint64 id : m_hub->selectedRuns()) {
        if (std::any_of(remaining.begin(), remaining.end(),
                        [id](const RunSummary& r) { return r.id == id; })) {
            compared << id;
        }
    }
    m_hub->setSelectedRuns(compared);
    refresh();
}

}  // namespace qs::ui
