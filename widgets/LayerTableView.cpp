#include "widgets/LayerTableView.h"

#include "widgets/ActiveRunData.h"
#include "widgets/EmptyStateWidget.h"
#include "widgets/LayerTableModel.h"
#include "widgets/SelectionHub.h"

#include <QApplication>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QMenu>
#include <QPainter>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QStyledItemDelegate>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace qs::ui {
namespace {

/// Draws a layer path indented under its block, the block prefix dimmed ("layer1.0." conv1), so
/// the residual structure reads at a glance while the column still sorts as plain paths.
class LayerNameDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter* p, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override {
        QStyleOptionViewItem opt(option);
        initStyleOption(&opt, index);
        const QString path = opt.text;
        opt.text.clear();
        const QWidget* w = opt.widget;
        QStyle* style = w ? w->style() : QApplication::style();
        style->drawControl(QStyle::CE_ItemViewItem, &opt, p, w);

        const QString block = index.data(LayerTableModel::BlockRole).toString();
        const int indent = block.isEmpty() ? 0 : kIndent;
        QRect r = opt.rect.adjusted(6 + indent, 0, -4, 0);
        const bool selected = opt.state & QStyle::State_Selected;
        const QColor text =
            selected ? opt.palette.highlightedText().color() : opt.palette.text().color();
        p->save();
        p->setFont(opt.font);
        QString prefix;
        QString rest = path;
        if (!block.isEmpty() && path.startsWith(block + QLatin1Char('.'))) {
            prefix = block + QLatin1Char('.');
            rest = path.mid(prefix.size());
        }
        const QFontMetrics fm(opt.font);
        if (!prefix.isEmpty()) {
            QColor dim = text;
            dim.setAlphaF(selected ? 0.75 : 0.5);
            p->setPen(dim);
            p->drawText(r, Qt::AlignVCenter | Qt::AlignLeft, prefix);
            r.setLeft(r.left() + fm.horizontalAdvance(prefix));
        }
        p->setPen(text);
        p->drawText(r, Qt::AlignVCenter | Qt::AlignLeft,
                    fm.elidedText(rest, Qt::ElideRight, r.width()));
        p->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override {
        QSize s = QStyledItemDelegate::sizeHint(option, index);
        s.rwidth() += kIndent + 6;
        return s;
    }

private:
    static constexpr int kIndent = 12;
};

}  // namespace

LayerTableView::LayerTableView(ActiveRunData* data, SelectionHub* hub, QWidget* parent)
    : QWidget(parent),
      m_data(data),
      m_hub(hub),
      m_model(new LayerTableModel(this)),
      m_proxy(new QSortFilterProxyModel(this)),
      m_table(new QTableView),
      m_caption(new QLabel),
      m_empty(new EmptyStateWidget),
      m_stack(new QStackedWidget) {
    setObjectName(QStringLiteral("LayerTableView"));
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(LayerTableModel::SortRole);
    m_table->setModel(m_proxy);
    m_table->setObjectName(QStringLiteral("layerTable"));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(LayerTableModel::Layer, Qt::AscendingOrder);
    m_table->setItemDelegateForColumn(LayerTableModel::Layer, new LayerNameDelegate(m_table));
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Interactive);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setWordWrap(false);
    m_table->setShowGrid(false);
    m_table->setCornerButtonEnabled(false);
    // The allocation's bits read best right beside the bits the run has now.
    QHeaderView* header = m_table->horizontalHeader();
    header->moveSection(header->visualIndex(LayerTableModel::Allocated),
                        header->visualIndex(LayerTableModel::WBits) + 1);
    // Right-click on the header picks the columns: the dock is narrow, so a few secondary
    // figures start hidden (MainWindow) and are one click away.
    m_table->horizontalHeader()->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_table->horizontalHeader(), &QWidget::customContextMenuRequested, this,
            [this](const QPoint& pos) {
                QMenu menu(this);
                for (int c = 1; c < LayerTableModel::ColumnCount; ++c) {
                    QAction* a = menu.addAction(
                        m_model->headerData(c, Qt::Horizontal, Qt::DisplayRole).toString());
                    a->setCheckable(true);
                    a->setChecked(!m_table->isColumnHidden(c));
                    connect(a, &QAction::toggled, m_table,
                            [this, c](bool on) { m_table->setColumnHidden(c, !on); });
                }
                menu.exec(m_table->horizontalHeader()->mapToGlobal(pos));
            });

    m_caption->setObjectName(QStringLiteral("layerCaption"));
    m_caption->setTextFormat(Qt::PlainText);
    m_caption->setWordWrap(true);
    QPalette pal = m_caption->palette();
    pal.setColor(QPalette::WindowText, pal.color(QPalette::PlaceholderText));
    m_caption->setPalette(pal);

    m_empty->setObjectName(QStringLiteral("layerEmpty"));

    m_stack->addWidget(m_empty);
    m_stack->addWidget(m_table);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addWidget(m_caption);
    layout->addWidget(m_stack, 1);

    connect(data, &ActiveRunData::reset, this, &LayerTableView::updateFromModel);
    connect(data, &ActiveRunData::layersAppended, this, &LayerTableView::onLayersAppended);
    connect(hub, &SelectionHub::activeLayerChanged, this, &LayerTableView::onActiveLayerChanged);
    connect(hub, &SelectionHub::plannedAllocationChanged, this,
            &LayerTableView::onPlannedAllocationChanged);
    onPlannedAllocationChanged(hub->plannedAllocation());
    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &LayerTableView::onSelectionChanged);
    updateFromModel();
}

QString LayerTableView::selectedLayer() const {
    const QModelIndexList rows = m_table->selectionModel()->selectedRows();
    return rows.isEmpty() ? QString()
                          : rows.first().data(LayerTableModel::LayerNameRole).toString();
}

void LayerTableView::updateFromModel() {
    const QVector<LayerRow> layers = m_data->latestLayers();
    {
        m_selecting = true;
        m_model->setLayers(layers);
        m_selecting = false;
    }
    const RunData& d = m_data->data();
    if (m_data->runId() == 0) {
        m_empty->setText(tr("No run selected"),
                         tr("Start a run or open one from the run browser to see its layers."));
        m_caption->clear();
    } else if (layers.isEmpty()) {
        if (m_data->isLive()) {
            m_empty->setText(tr("Waiting for layer states"),
                             tr("The first per-layer quantizer states arrive after a few steps."));
        } else {
            m_empty->setText(tr("No layer states"), tr("This run recorded no per-layer states."));
        }
    }
    if (m_data->runId() != 0) {
        const int quantized = std::count_if(layers.begin(), layers.end(), [](const LayerRow& r) {
            return r.weightBits != 0 || r.actBits != 0;
        });
        m_caption->setText(layers.isEmpty()
                               ? tr("Run %1 · %2").arg(d.summary.id).arg(d.summary.name)
                               : tr("Run %1 · %2 · step %3 · %4 layers, %5 quantized")
                                     .arg(d.summary.id)
                                     .arg(d.summary.name)
                                     .arg(d.layerHistory.last().step)
                                     .arg(layers.size())
                                     .arg(quantized));
    }
    m_stack->setCurrentWidget(layers.isEmpty() ? static_cast<QWidget*>(m_empty) : m_table);
    if (!layers.isEmpty() && layers.size() != m_fittedRows) {
        fitColumns();
        m_fittedRows = layers.size();
    }
    selectLayer(m_hub->activeLayer());
}

void LayerTableView::fitColumns() {
    // Like ResizeToContents, but without reserving room for a sort arrow in every header: the
    // dock is narrow, and those few pixels per column decide whether W error still fits.
    const QFontMetrics fm(m_table->horizontalHeader()->font());
    for (int c = 0; c < LayerTableModel::ColumnCount; ++c) {
        const QString title = m_model->headerData(c, Qt::Horizontal).toString();
        const int header = fm.horizontalAdvance(title) + 16;
        m_table->setColumnWidth(
            c, std::max(header, static_cast<QAbstractItemView*>(m_table)->sizeHintForColumn(c)));
    }
}

void LayerTableView::onLayersAppended(const LayerSnapshot&) {
    updateFromModel();
}

void LayerTableView::onPlannedAllocationChanged(const QMap<QString, int>& bits) {
    m_model->setAllocation(bits);
    // The column takes room in a narrow dock: it is there while there is an allocation to show.
    m_table->setColumnHidden(LayerTableModel::Allocated, bits.isEmpty());
}

void LayerTableView::onActiveLayerChanged(const QString& layer) {
    selectLayer(layer);
}

void LayerTableView::selectLayer(const QString& layer) {
    const int row = m_model->rowOf(layer);
    m_selecting = true;
    if (row < 0) {
        m_table->clearSelection();
    } else {
        const QModelIndex index = m_proxy->mapFromSource(m_model->index(row, 0));
        m_table->selectionModel()->select(
            index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        m_table->selectionModel()->setCurrentIndex(index, QItemSelectionModel::NoUpdate);
        m_table->scrollTo(index);
    }
    m_selecting = false;
}

void LayerTableView::onSelectionChanged() {
    if (m_selecting) {
        return;
    }
    const QString layer = selectedLayer();
    if (!layer.isEmpty()) {
        m_hub->setActiveLayer(layer);
    }
}

}  // namespace qs::ui
