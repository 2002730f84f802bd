#include "widgets/LayerTableModel.h"

#include <QBrush>
#include <QColor>
#include <QFont>
#include <QLocale>

#include <cmath>

namespace qs::ui {
namespace {

double meanOf(const QVector<double>& v) {
    if (v.isEmpty()) {
        return 0.0;
    }
    double s = 0.0;
    for (double x : v) {
        s += x;
    }
    return s / double(v.size());
}

QString bitsText(int bits) {
    return bits == 0 ? QStringLiteral("fp") : QString::number(bits);
}

/// Step sizes and errors span decades; four significant digits keep them readable and exact
/// enough to compare, switching to exponent form for the very small ones.
QString numberText(double v) {
    if (v == 0.0) {
        return QStringLiteral("0");
    }
    const double a = std::abs(v);
    if (a >= 1e-3 && a < 1e4) {
        return QLocale().toString(v, 'g', 4);
    }
    return QLocale().toString(v, 'e', 2);
}

/// Errors span decades between layers: one exponent form for the whole column keeps them
/// comparable at a glance ("2.59e-04" above "1.10e-04").
QString errorText(double v) {
    return v == 0.0 ? QStringLiteral("0") : QLocale().toString(v, 'e', 2);
}

QString percentText(double fraction) {
    return QLocale().toString(100.0 * fraction, 'f', fraction < 0.1 ? 2 : 1) + QStringLiteral(" %");
}

const QString kDash = QStringLiteral("–");

}  // namespace

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

QString LayerTableModel::shapeText(const QVector<qint64>& shape) {
    QStringList parts;
    for (qint64 d : shape) {
        parts << QString::number(d);
    }
    return parts.join(QChar(0x00D7));
}

QString LayerTableModel::countText(qint64 count) {
    return QLocale(QLocale::English).toString(count);
}

QString LayerTableModel::blockOf(const QString& layer) {
    // ResNet blocks are "layerN.M"; BERT's are "...layer.N". The block is the path up to the
    // first numeric component.
    const QStringList parts = layer.split(QLatin1Char('.'));
    for (int i = 0; i < parts.size() - 1; ++i) {
        bool numeric = false;
        parts[i].toInt(&numeric);
        if (numeric) {
            return parts.mid(0, i + 1).join(QLatin1Char('.'));
        }
    }
    return {};
}

void LayerTableModel::setLayers(const QVector<LayerRow>& layers) {
    bool sameLayers = layers.size() == m_rows.size();
    for (int i = 0; sameLayers && i < layers.size(); ++i) {
        sameLayers = layers[i].layer == m_rows[i].layer;
    }
    if (!sameLayers) {
        beginResetModel();
    }
    m_rows = layers;
    m_blockIndex.resize(m_rows.size());
    QString last;
    int block = -1;
    for (int i = 0; i < m_rows.size(); ++i) {
        const QString b = blockOf(m_rows[i].layer);
        if (i == 0 || b != last) {
            ++block;
            last = b;
        }
        m_blockIndex[i] = block;
    }
    if (sameLayers) {
        if (!m_rows.isEmpty()) {
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        }
    } else {
        endResetModel();
    }
}

int LayerTableModel::rowOf(const QString& layer) const {
    for (int i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].layer == layer) {
            return i;
        }
    }
    return -1;
}

void LayerTableModel::setAllocation(const QMap<QString, int>& bits) {
    if (bits == m_allocation) {
        return;
    }
    m_allocation = bits;
    if (!m_rows.isEmpty()) {
        Q_EMIT dataChanged(index(0, Allocated), index(rowCount() - 1, Allocated));
    }
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_rows.size();
}

int LayerTableModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LayerTableModel::displayValue(const LayerRow& r, int column) const {
    switch (column) {
        case Layer:
            return r.layer;
        case Shape:
            return shapeText(r.weightShape);
        case Params:
            return countText(r.paramCount);
        case WBits:
            return bitsText(r.weightBits);
        case ABits:
            return bitsText(r.actBits);
        case WStep:
            return r.weightBits == 0 || r.weightSteps.isEmpty() ? kDash
                                                                : numberText(meanOf(r.weightSteps));
        case AStep:
            return r.actBits == 0 || r.actStep == 0.0 ? kDash : numberText(r.actStep);
        case WError:
            return r.weightBits == 0 ? kDash : errorText(r.weightError);
        case AError:
            return r.actBits == 0 ? kDash : errorText(r.actError);
        case WClip:
            return r.weightBits == 0 ? kDash : percentText(r.weightClipRate);
        case AClip:
            return r.actBits == 0 ? kDash : percentText(r.actClipRate);
        case Allocated: {
            const auto it = m_allocation.find(r.layer);
            return it == m_allocation.end() ? QString() : bitsText(it.value());
        }
        default:
            return {};
    }
}

QVariant LayerTableModel::sortValue(const LayerRow& r, int row, int column) const {
    // Float slots sort after every quantized value (bits) and as missing (-1) for the figures.
    switch (column) {
        case Layer:
            return row;
        case Shape:
            return r.paramCount;
        case Params:
            return r.paramCount;
        case WBits:
            return r.weightBits == 0 ? 32 : r.weightBits;
        case ABits:
            return r.actBits == 0 ? 32 : r.actBits;
        case WStep:
            return r.weightBits == 0 ? -1.0 : meanOf(r.weightSteps);
        case AStep:
            return r.actBits == 0 ? -1.0 : r.actStep;
        case WError:
            return r.weightBits == 0 ? -1.0 : r.weightError;
        case AError:
            return r.actBits == 0 ? -1.0 : r.actError;
        case WClip:
            return r.weightBits == 0 ? -1.0 : r.weightClipRate;
        case AClip:
            return r.actBits == 0 ? -1.0 : r.actClipRate;
        case Allocated: {
            const auto it = m_allocation.find(r.layer);
            return it == m_allocation.end() ? 99 : (it.value() == 0 ? 32 : it.value());
        }
        default:
            return {};
    }
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_rows.size()) {
        return {};
    }
    const LayerRow& r = m_rows[index.row()];
    const int column = index.column();
    switch (role) {
        case Qt::DisplayRole:
            return displayValue(r, column);
        case SortRole:
            return sortValue(r, index.row(), column);
        case LayerNameRole:
            return r.layer;
        case BlockRole:
            return blockOf(r.layer);
        case DepthRole:
            return blockOf(r.layer).isEmpty() ? 0 : 1;
        case Qt::TextAlignmentRole:
            if (column == Layer || column == Shape) {
                return QVariant(Qt::AlignLeft | Qt::AlignVCenter);
            }
            if (column == WBits || column == ABits || column == Allocated) {
                return QVariant(Qt::AlignCenter);
            }
            return QVariant(Qt::AlignRight | Qt::AlignVCenter);
        case Qt::ForegroundRole:
            if (column == Allocated) {
                // A change against the bits the run has now stands out; the same bits recede.
                const auto it = m_allocation.find(r.layer);
                if (it == m_allocation.end()) {
                    return {};
                }
                if (it.value() == r.weightBits) {
                    return QBrush(QColor(0x75, 0x75, 0x75));
                }
                return QBrush(it.value() < r.weightBits && it.value() != 0
                                  ? QColor(0x15, 0x65, 0xc0)
                                  : QColor(0xb2, 0x4a, 0x00));
            }
            if ((column == WBits && r.weightBits == 0) || (column == ABits && r.actBits == 0)) {
                return QBrush(QColor(0x6a, 0x1b, 0x9a));
            }
            if (displayValue(r, column) == kDash) {
                return QBrush(QColor(0x9e, 0x9e, 0x9e));
            }
            return {};
        case Qt::FontRole:
            if (column == Allocated && m_allocation.contains(r.layer) &&
                m_allocation.value(r.layer) != r.weightBits) {
                QFont bold;
                bold.setBold(true);
                return bold;
            }
            return {};
        case Qt::BackgroundRole:
            // Alternate shading per block, so a residual block's convolutions read as a group.
            if (m_blockIndex.value(index.row()) % 2 == 1) {
                return QBrush(QColor(0, 0, 0, 12));
            }
            return {};
        case Qt::ToolTipRole:
            if (column == WStep && r.weightSteps.size() > 1) {
                return tr("Mean of %1 per-channel step sizes").arg(r.weightSteps.size());
            }
            if (column == Allocated && m_allocation.contains(r.layer)) {
                const int bits = m_allocation.value(r.layer);
                return bits == r.weightBits
                           ? tr("The allocation keeps %1 at %2").arg(r.layer, bitsText(bits))
                           : tr("The allocation puts %1 at %2 (now %3)")
                                 .arg(r.layer, bitsText(bits), bitsText(r.weightBits));
            }
            if (column == Layer) {
                const QString block = blockOf(r.layer);
                return block.isEmpty() ? r.layer : tr("%1 (block %2)").arg(r.layer, block);
            }
            return {};
        default:
            return {};
    }
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal) {
        return {};
    }
    if (role == Qt::DisplayRole) {
        static const char* names[] = {"Layer",  "Shape",   "Params",  "W bits", "A bits", "W step",
                                      "A step", "W error", "A error", "W clip", "A clip", "Alloc."};
        return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
    }
    if (role == Qt::ToolTipRole) {
        static const char* tips[] = {
            "Parameter path of the layer",
            "Weight tensor shape",
            "Number of weights",
            "Weight bit-width (fp: float)",
            "Input activation bit-width (fp: float)",
            "Weight quantizer step size (mean over channels when per-channel)",
            "Activation quantizer step size",
            "Mean squared weight quantization error",
            "Mean squared activation quantization error",
            "Fraction of weights clipped to the grid's ends",
            "Fraction of activations clipped to the grid's ends",
            "Weight bits of the allocation chosen in the Sensitivity tab (empty: none chosen); "
            "blue where it saves bits, orange where it adds them"};
        return section >= 0 && section < ColumnCount ? tr(tips[section]) : QVariant();
    }
    if (role == Qt::TextAlignmentRole) {
        return section == Layer || section == Shape ? QVariant(Qt::AlignLeft | Qt::AlignVCenter)
                                                    : QVariant(Qt::AlignCenter);
    }
    return {};
}

}  // namespace qs::ui
