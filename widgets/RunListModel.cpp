#include "widgets/RunListModel.h"

#include <QBrush>
#include <QColor>
#include <QIcon>
#include <QLocale>
#include <QPainter>
#include <QPixmap>

namespace qs::ui {
namespace {

QVariant accuracy(const RunSummary& r, const char* key, bool display) {
    const auto it = r.finalMetrics.find(QString::fromLatin1(key));
    if (it == r.finalMetrics.end()) {
        return display ? QVariant(QStringLiteral("–")) : QVariant(-1.0);
    }
    return display ? QVariant(QLocale().toString(100.0 * it.value(), 'f', 2) + QStringLiteral(" %"))
                   : QVariant(it.value());
}

QIcon statusDot(const QColor& c) {
    QPixmap pm(12, 12);
    pm.fill(Qt::transparent);
    QPainter p(&pm);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(c.darker(120));
    p.setBrush(c);
    p.drawEllipse(QRectF(2, 2, 8, 8));
    return QIcon(pm);
}

}  // namespace

RunListModel::RunListModel(QObject* parent) : QAbstractTableModel(parent) {}

QColor RunListModel::statusColor(const QString& status) {
    if (status == QLatin1String("finished")) {
        return QColor(0x2e, 0x7d, 0x32);
    }
    if (status == QLatin1String("running")) {
        return QColor(0x15, 0x65, 0xc0);
    }
    if (status == QLatin1String("paused")) {
        return QColor(0xc7, 0x7c, 0x02);
    }
    if (status == QLatin1String("failed")) {
        return QColor(0xc6, 0x28, 0x28);
    }
    if (status == QLatin1String("interrupted")) {
        return QColor(0xd8, 0x43, 0x15);
    }
    return QColor(0x75, 0x75, 0x75);  // cancelled, pending, unknown
}

void RunListModel::setRuns(const QVector<RunSummary>& runs) {
    beginResetModel();
    m_runs = runs;
    endResetModel();
}

int RunListModel::rowOf(qint64 runId) const {
    for (int i = 0; i < m_runs.size(); ++i) {
        if (m_runs[i].id == runId) {
            return i;
        }
    }
    return -1;
}

int RunListModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_runs.size();
}

int RunListModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant RunListModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_runs.size()) {
        return {};
    }
    const RunSummary& r = m_runs[index.row()];
    const int c = index.column();
    switch (role) {
        case Qt::DisplayRole:
        case Qt::EditRole:
            switch (c) {
                case Id:
                    return r.id;
                case Name:
                    return r.name;
                case Status:
                    return r.status;
                case Method:
                    return r.method;
                case Bits:
                    return r.bits;
                case Arch:
                    return r.arch;
                case Dataset:
                    return r.dataset;
                case EvalAcc:
                    return accuracy(r, "eval/acc", true);
                case BestAcc:
                    return accuracy(r, "eval/best_acc", true);
                case Created:
                    return r.created.isValid()
                               ? QLocale().toString(r.created.toLocalTime(),
                                                    QStringLiteral("yyyy-MM-dd HH:mm"))
                               : QString();
                default:
                    return {};
            }
        case SortRole:
            switch (c) {
                case Id:
                    return r.id;
                case EvalAcc:
                    return accuracy(r, "eval/acc", false);
                case BestAcc:
                    return accuracy(r, "eval/best_acc", false);
                case Created:
                    return r.created;
                default:
                    return data(index, Qt::DisplayRole).toString().toLower();
            }
        case RunIdRole:
            return r.id;
        case FilterTextRole:
            return QStringList{r.name, r.method, r.status, r.bits}.join(QLatin1Char(' ')).toLower();
        case Qt::ForegroundRole:
            if (c == Status) {
                return QBrush(statusColor(r.status));
            }
            return {};
        case Qt::DecorationRole:
            if (c == Status) {
                return statusDot(statusColor(r.status));
            }
            return {};
        case Qt::TextAlignmentRole:
            if (c == Id || c == EvalAcc || c == BestAcc) {
                return QVariant(Qt::AlignRight | Qt::AlignVCenter);
            }
            return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
        case Qt::ToolTipRole:
            if (c == Created && r.finished.isValid()) {
                return tr("Finished %1")
                    .arg(QLocale().toString(r.finished.toLocalTime(), QLocale::ShortFormat));
            }
            if (c == Name) {
                return tr("Double-click to open; F2 to rename");
            }
            return {};
        default:
            return {};
    }
}

QVariant RunListModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return {};
    }
    static const char* names[] = {"ID",   "Name",    "Status",   "Method",   "Bits",
                                  "Arch", "Dataset", "Eval acc", "Best acc", "Created"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

Qt::ItemFlags RunListModel::flags(const QModelIndex& index) const {
    Qt::ItemFlags f = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() == Name) {
        f |= Qt::ItemIsEditable;
    }
    return f;
}

bool RunListModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (!index.isValid() || index.column() != Name || role != Qt::EditRole) {
        return false;
    }
    const QString name = value.toString().trimmed();
    RunSummary& r = m_runs[index.row()];
    if (name.isEmpty() || name == r.name) {
        return false;
    }
    // Shown at once; the store's answer (a refresh) confirms or reverts it.
    r.name = name;
    Q_EMIT dataChanged(index, index);
    Q_EMIT renameRequested(r.id, name);
    return true;
}

}  // namespace qs::ui
