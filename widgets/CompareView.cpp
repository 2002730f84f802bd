#include "widgets/CompareView.h"

#include "visualization/PlotStyle.h"
#include "visualization/TrainingCurvesPlot.h"
#include "widgets/EmptyStateWidget.h"
#include "widgets/RunBackend.h"
#include "widgets/SelectionHub.h"

#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::ui {

/// A horizontal header of two lines: on top, a title spanning each group of columns (one group
/// per run); below, each column's own label. Each section paints its slice of the group title,
/// clipped to itself, so the title reads as one across the group.
class GroupHeader : public QHeaderView {
public:
    explicit GroupHeader(QWidget* parent) : QHeaderView(Qt::Horizontal, parent) {
        setSectionsClickable(false);
        setHighlightSections(false);
        setDefaultAlignment(Qt::AlignCenter);
    }

    /// Columns [first, first + count) share title.
    void setGroups(int leading, int perGroup, const QStringList& titles,
                   const QVector<QColor>& colors) {
        m_leading = leading;
        m_perGroup = perGroup;
        m_titles = titles;
        m_colors = colors;
        viewport()->update();
    }

    QString title(int group) const { return m_titles.value(group); }

    QSize sizeHint() const override {
        QSize s = QHeaderView::sizeHint();
        s.setHeight(2 * fontMetrics().height() + 14);
        return s;
    }

protected:
    void paintSection(QPainter* p, const QRect& rect, int logical) const override {
        const int half = rect.height() / 2;
        const QRect bottom(rect.left(), rect.top() + half, rect.width(), rect.height() - half);
        const QRect top(rect.left(), rect.top(), rect.width(), half);
        // The column's own label in the bottom half, through the style so it looks native.
        p->save();
        QStyleOptionHeader opt;
        initStyleOption(&opt);
        opt.rect = logical < m_leading ? rect : bottom;
        opt.section = logical;
        opt.text = model()->headerData(logical, Qt::Horizontal).toString();
        opt.textAlignment = Qt::AlignCenter;
        opt.position = QStyleOptionHeader::Middle;
        style()->drawControl(QStyle::CE_Header, &opt, p, this);
        p->restore();
        if (logical < m_leading) {
            return;
        }
        const int group = (logical - m_leading) / m_perGroup;
        const int first = m_leading + group * m_perGroup;
        const int last = first + m_perGroup - 1;
        const int x0 = sectionViewportPosition(first);
        const int x1 = sectionViewportPosition(last) + sectionSize(last);
        const QRect span(x0, top.top(), x1 - x0, top.height());
        p->save();
        p->setClipRect(top);
        const QColor color = m_colors.value(group, palette().color(QPalette::Button));
        QColor fill = color;
        fill.setAlpha(40);
        p->fillRect(top, palette().color(QPalette::Button));
        p->fillRect(top, fill);
        p->setPen(color);
        p->drawLine(span.left() + 1, span.bottom(), span.right() - 1, span.bottom());
        p->setPen(palette().color(QPalette::ButtonText));
        QFont f = font();
        f.setBold(true);
        p->setFont(f);
        const QString text =
            QFontMetrics(f).elidedText(m_titles.value(group), Qt::ElideRight, span.width() - 8);
        p->drawText(span.adjusted(4, 0, -4, 0), Qt::AlignCenter, text);
        if (logical == last) {
            p->setPen(palette().color(QPalette::Mid));
            p->drawLine(rect.right(), rect.top(), rect.right(), rect.bottom());
        }
        p->restore();
    }

private:
    int m_leading = 1;
    int m_perGroup = 3;
    QStringList m_titles;
    QVector<QColor> m_colors;
};

namespace {

/// The colour the curves plot gives the i-th run (runs are added in order after clear()).
QColor runColor(int i) {
    return PlotStyle::seriesColor(i);
}

double meanOf(const QVector<double>& v) {
    double s = 0.0;
    for (double x : v) {
        s += x;
    }
    return v.isEmpty() ? 0.0 : s / double(v.size());
}

QString bitsText(const LayerRow& r) {
    if (r.weightBits == 0 && r.actBits == 0) {
        return QStringLiteral("fp");
    }
    auto one = [](int b) { return b == 0 ? QStringLiteral("fp") : QString::number(b); };
    return QStringLiteral("W%1 A%2").arg(one(r.weightBits), one(r.actBits));
}

}  // namespace

CompareView::CompareView(RunBackend* backend, SelectionHub* hub, QWidget* parent)
    : QWidget(parent),
      m_backend(backend),
      m_hub(hub),
      m_stack(new QStackedWidget),
      m_empty(new EmptyStateWidget),
      m_caption(new QLabel),
      m_curves(new TrainingCurvesPlot),
      m_table(new QTableWidget),
      m_metrics(new QTableWidget) {
    setObjectName(QStringLiteral("CompareView"));
    m_metrics->setObjectName(QStringLiteral("compareMetricsTable"));
    m_metrics->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_metrics->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_metrics->verticalHeader()->hide();
    m_metrics->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_metrics->setShowGrid(false);
    m_metrics->setAlternatingRowColors(true);
    m_metrics->setWordWrap(false);
    m_metrics->horizontalHeader()->setStretchLastSection(true);
    m_header = new GroupHeader(m_table);
    m_table->setHorizontalHeader(m_header);
    m_table->setObjectName(QStringLiteral("compareTable"));
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->setShowGrid(false);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_caption->setContentsMargins(8, 6, 8, 2);
    m_caption->setTextFormat(Qt::RichText);
    m_caption->setWordWrap(true);

    auto* split = new QSplitter(Qt::Vertical);
    split->setObjectName(QStringLiteral("compareSplitter"));
    split->addWidget(m_curves);
    split->addWidget(m_metrics);
    split->addWidget(m_table);
    split->setChildrenCollapsible(false);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 0);
    split->setStretchFactor(2, 1);
    split->setSizes({380, 130, 260});
    auto* content = new QWidget;
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->setSpacing(2);
    contentLayout->addWidget(m_caption);
    contentLayout->addWidget(split, 1);

    m_stack->addWidget(m_empty);
    m_stack->addWidget(content);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_stack);

    connect(hub, &SelectionHub::selectedRunsChanged, this, &CompareView::updateFromModel);
    updateFromModel();
}

QVector<qint64> CompareView::shownRuns() const {
    QVector<qint64> ids;
    for (const RunData& r : m_runs) {
        ids << r.summary.id;
    }
    return ids;
}

QString CompareView::groupTitle(int runIndex) const {
    return m_header->title(runIndex);
}

bool CompareView::isEmptyState() const {
    return m_stack->currentWidget() == m_empty;
}

void CompareView::updateFromModel() {
    m_runs.clear();
    for (qint64 id : m_hub->selectedRuns()) {
        RunData d = m_backend->loadRun(id);
        if (d.summary.id == 0) {
            d.summary.id = id;
        }
        m_runs << d;
    }
    m_curves->clear();
    if (m_runs.size() < 2) {
        m_empty->setText(tr("Nothing to compare"),
                         tr("Select two or more runs in the run browser and press Compare."));
        m_stack->setCurrentWidget(m_empty);
        m_table->clear();
        m_table->setRowCount(0);
        m_table->setColumnCount(0);
        m_metrics->clear();
        m_metrics->setRowCount(0);
        m_metrics->setColumnCount(0);
        return;
    }
    m_stack->setCurrentIndex(1);

    QStringList titles;
    QStringList captionParts;
    QVector<QColor> colors;
    for (int i = 0; i < m_runs.size(); ++i) {
        const RunData& d = m_runs[i];
        const QString label = QStringLiteral("#%1 %2").arg(d.summary.id).arg(d.summary.name);
        // The legend names runs by id; the caption above maps ids to names in the same colours.
        m_curves->addPoints(d.summary.id, QStringLiteral("#%1").arg(d.summary.id), d.metrics);
        QString title = label;
        const auto acc = d.summary.finalMetrics.find(QStringLiteral("eval/acc"));
        if (acc != d.summary.finalMetrics.end()) {
            title += QStringLiteral(" · ") + QLocale().toString(100.0 * acc.value(), 'f', 2) +
                     QStringLiteral(" %");
        }
        titles << title;
        const QColor c = runColor(i);
        colors << c;
        captionParts << QStringLiteral(
                            "<span style='color:%1'>&#9632;</span> %2 <span "
                            "style='color:#616161'>(%3 %4, %5)</span>")
                            .arg(c.name(), label.toHtmlEscaped(), d.summary.method.toHtmlEscaped(),
                                 d.summary.bits.toHtmlEscaped(), d.summary.status.toHtmlEscaped());
    }
    m_curves->rescale();
    m_caption->setText(tr("<b>Comparing %1 runs</b>&nbsp;&nbsp;").arg(m_runs.size()) +
                       captionParts.join(QStringLiteral("&nbsp;&nbsp;&nbsp;")));
    updateMetricsTable();

    // Rows: every layer any run has, in the first run's forward order, then the others' extras.
    QStringList layers;
    QVector<QHash<QString, LayerRow>> byRun;
    for (const RunData& d : m_runs) {
        QHash<QString, LayerRow> rows;
        if (!d.layerHistory.isEmpty()) {
            for (const LayerRow& r : d.layerHistory.last().layers) {
                rows.insert(r.layer, r);
                if (!layers.contains(r.layer)) {
                    layers << r.layer;
                }
            }
        }
        byRun << rows;
    }
    const int columns = 1 + kColumnsPerRun * m_runs.size();
    m_table->clear();
    m_table->setColumnCount(columns);
    m_table->setRowCount(layers.size());
    QStringList headers{tr("Layer")};
    for (int i = 0; i < m_runs.size(); ++i) {
        headers << tr("Bits") << tr("W step") << tr("W error");
    }
    m_table->setHorizontalHeaderLabels(headers);
    m_header->setGroups(1, kColumnsPerRun, titles, colors);

    for (int r = 0; r < layers.size(); ++r) {
        auto* name = new QTableWidgetItem(layers[r]);
        m_table->setItem(r, 0, name);
        // Bits that differ between runs are what a comparison is for: make them stand out.
        QSet<QString> distinctBits;
        for (const auto& rows : byRun) {
            distinctBits.insert(rows.contains(layers[r]) ? bitsText(rows[layers[r]]) : QString());
        }
        for (int i = 0; i < m_runs.size(); ++i) {
            const int c = 1 + kColumnsPerRun * i;
            if (!byRun[i].contains(layers[r])) {
                for (int k = 0; k < kColumnsPerRun; ++k) {
                    auto* item = new QTableWidgetItem(QStringLiteral("–"));
                    item->setTextAlignment(Qt::AlignCenter);
                    item->setForeground(palette().color(QPalette::PlaceholderText));
                    m_table->setItem(r, c + k, item);
                }
                continue;
            }
            const LayerRow& row = byRun[i][layers[r]];
            auto* bits = new QTableWidgetItem(bitsText(row));
            bits->setTextAlignment(Qt::AlignCenter);
            if (distinctBits.size() > 1) {
                QFont f = bits->font();
                f.setBold(true);
                bits->setFont(f);
                bits->setForeground(runColor(i).darker(130));
            }
            const bool wfp = row.weightBits == 0;
            auto* step = new QTableWidgetItem(
                wfp ? QStringLiteral("–") : QLocale().toString(meanOf(row.weightSteps), 'g', 4));
            auto* err = new QTableWidgetItem(wfp ? QStringLiteral("–")
                                                 : QLocale().toString(row.weightError, 'e', 2));
            for (QTableWidgetItem* it : {step, err}) {
                it->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            }
            m_table->setItem(r, c, bits);
            m_table->setItem(r, c + 1, step);
            m_table->setItem(r, c + 2, err);
        }
    }
    m_table->setCurrentIndex(QModelIndex());
    m_table->resizeColumnsToContents();
    // Wide enough for the group titles: spread a title's width over its columns.
    QFont bold = m_header->font();
    bold.setBold(true);
    const QFontMetrics fm(bold);
    for (int i = 0; i < m_runs.size(); ++i) {
        const int need = fm.horizontalAdvance(titles[i]) + 24;
        int have = 0;
        for (int k = 0; k < kColumnsPerRun; ++k) {
            have += m_table->columnWidth(1 + kColumnsPerRun * i + k);
        }
        if (have < need) {
            const int extra = (need - have + kColumnsPerRun - 1) / kColumnsPerRun;
            for (int k = 0; k < kColumnsPerRun; ++k) {
                const int c = 1 + kColumnsPerRun * i + k;
                m_table->setColumnWidth(c, m_table->columnWidth(c) + extra);
            }
        }
    }
}

QString CompareView::metricText(const QString& key, double value) {
    if (!std::isfinite(value)) {
        return QStringLiteral("–");
    }
    if (key.endsWith(QLatin1String("/acc")) || key.endsWith(QLatin1String("_acc"))) {
        return QLocale().toString(100.0 * value, 'f', 2) + QStringLiteral(" %");
    }
    if (key.startsWith(QLatin1String("sharpness/epsilon/"))) {
        return QLocale().toString(value, 'g', 3) + QStringLiteral(" %");
    }
    return QLocale().toString(value, 'g', 4);
}

void CompareView::updateMetricsTable() {
    // Rows: evaluation figures first, then sharpness (grouped by measure), then anything else.
    QStringList keys;
    for (const RunData& d : m_runs) {
        for (auto it = d.summary.finalMetrics.cbegin(); it != d.summary.finalMetrics.cend(); ++it) {
            if (!keys.contains(it.key())) {
                keys << it.key();
            }
        }
    }
    auto rank = [](const QString& key) {
        return key.startsWith(QLatin1String("eval/"))        ? 0
               : key.startsWith(QLatin1String("sharpness/")) ? 1
                                                             : 2;
    };
    std::sort(keys.begin(), keys.end(), [&rank](const QString& a, const QString& b) {
        return rank(a) != rank(b) ? rank(a) < rank(b) : a < b;
    });
    m_metrics->clear();
    m_metrics->setColumnCount(1 + m_runs.size());
    m_metrics->setRowCount(keys.size());
    QStringList headers{tr("Final metric")};
    for (int i = 0; i < m_runs.size(); ++i) {
        headers << QStringLiteral("#%1").arg(m_runs[i].summary.id);
    }
    m_metrics->setHorizontalHeaderLabels(headers);
    for (int i = 0; i < m_runs.size(); ++i) {
        m_metrics->horizontalHeaderItem(1 + i)->setForeground(runColor(i).darker(130));
        m_metrics->horizontalHeaderItem(1 + i)->setToolTip(m_runs[i].summary.name);
    }
    for (int r = 0; r < keys.size(); ++r) {
        auto* name = new QTableWidgetItem(keys[r]);
        if (rank(keys[r]) == 1) {
            name->setToolTip(tr("Measured on the run's last checkpoint; lower is flatter"));
        }
        m_metrics->setItem(r, 0, name);
        for (int i = 0; i < m_runs.size(); ++i) {
            const auto it = m_runs[i].summary.finalMetrics.find(keys[r]);
            auto* item = new QTableWidgetItem(it == m_runs[i].summary.finalMetrics.cend()
                                                  ? QStringLiteral("–")
                                                  : metricText(keys[r], it.value()));
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (it == m_runs[i].summary.finalMetrics.cend()) {
                item->setForeground(palette().color(QPalette::PlaceholderText));
            }
            m_metrics->setItem(r, 1 + i, item);
        }
    }
    m_metrics->resizeColumnsToContents();
}

}  // namespace qs::ui
