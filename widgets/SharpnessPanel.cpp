#include "widgets/SharpnessPanel.h"

#include "widgets/TextFormat.h"

#include <QAction>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QTableWidget>
#include <QTextDocumentFragment>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::ui {
namespace {

QString number(double v, int precision = 4) {
    return std::isfinite(v) ? QLocale().toString(v, 'g', precision) : QStringLiteral("–");
}

QString measureLabel(const QString& measure) {
    if (measure == QLatin1String("rho-ball")) {
        return QObject::tr("ρ-ball");
    }
    if (measure == QLatin1String("epsilon")) {
        return QObject::tr("ε-sharpness");
    }
    return measure;
}

}  // namespace

SharpnessPanel::SharpnessPanel(QWidget* parent)
    : QWidget(parent),
      m_caption(new QLabel),
      m_measure(new QToolButton),
      m_progress(new QProgressBar),
      m_table(new QTableWidget(0, ColumnCount)) {
    setObjectName(QStringLiteral("SharpnessPanel"));
    m_caption->setObjectName(QStringLiteral("sharpnessCaption"));
    m_caption->setTextFormat(Qt::RichText);
    m_caption->setWordWrap(true);
    m_measure->setObjectName(QStringLiteral("measureSharpnessButton"));
    m_measure->setToolButtonStyle(Qt::ToolButtonTextOnly);
    m_measure->setVisible(false);
    m_progress->setObjectName(QStringLiteral("sharpnessProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setTextVisible(true);
    m_progress->setVisible(false);

    m_table->setObjectName(QStringLiteral("sharpnessTable"));
    m_table->setHorizontalHeaderLabels({tr("Measure"), tr("Mode"), tr("Radius"), tr("Value"),
                                        tr("Base loss"), tr("Perturbed loss"), tr("Samples")});
    m_table->horizontalHeaderItem(Value)->setToolTip(
        tr("ρ-ball: max over the ball of L(w+e) − L(w); ε-sharpness: that over 1 + L(w), in %"));
    m_table->horizontalHeaderItem(Mode)->setToolTip(
        tr("float: the float model; dequantized: perturb the dequantized weights; "
           "quantize-after: perturb the latent weights, then quantize"));
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 8);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setShowGrid(false);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setStretchLastSection(true);

    auto* top = new QHBoxLayout;
    top->setSpacing(8);
    top->addWidget(m_caption, 1);
    top->addWidget(m_measure, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 6, 8, 8);
    layout->setSpacing(6);
    layout->addLayout(top);
    layout->addWidget(m_progress);
    layout->addWidget(m_table, 1);
    setFigures({});
}

void SharpnessPanel::setMeasureAction(QAction* action) {
    m_measure->setDefaultAction(action);
    m_measure->setVisible(action != nullptr);
}

void SharpnessPanel::setFigures(const QVector<SharpnessPoint>& figures) {
    m_table->clearContents();
    m_table->setRowCount(figures.size());
    for (int r = 0; r < figures.size(); ++r) {
        const SharpnessPoint& f = figures[r];
        const QString texts[ColumnCount] = {measureLabel(f.measure),      f.mode,
                                            number(f.radius, 3),          valueText(f),
                                            number(f.baseLoss),           number(f.perturbedLoss),
                                            QLocale().toString(f.samples)};
        for (int c = 0; c < ColumnCount; ++c) {
            auto* item = new QTableWidgetItem(texts[c]);
            item->setTextAlignment(c <= Mode ? Qt::AlignLeft | Qt::AlignVCenter
                                             : Qt::AlignRight | Qt::AlignVCenter);
            if (c == Value) {
                QFont bold = item->font();
                bold.setBold(true);
                item->setFont(bold);
            }
            item->setToolTip(tr("%1 · %2 · checkpoint at step %3")
                                 .arg(measureLabel(f.measure), f.mode)
                                 .arg(f.step));
            m_table->setItem(r, c, item);
        }
    }
    m_table->resizeColumnsToContents();
    m_table->setVisible(!figures.isEmpty());
    if (figures.isEmpty()) {
        m_caption->setText(
            tr("<b>Sharpness</b>&nbsp;&nbsp;<span style='color:#757575'>Not measured yet. "
               "Measuring perturbs the run's last checkpoint inside a ρ-ball and an ε-box and "
               "reports how much the loss rises; the figures are kept with the run.</span>"));
    } else {
        m_caption->setText(tr("<b>Sharpness</b>&nbsp;&nbsp;<span style='color:#616161'>%1 of "
                              "the last checkpoint (step %2). Lower is flatter.</span>")
                               .arg(countNoun(figures.size(), tr("figure"), tr("figures")))
                               .arg(figures.last().step));
    }
}

void SharpnessPanel::setProgress(const QString& phase, double fraction) {
    m_progress->setVisible(true);
    m_progress->setValue(int(std::lround(1000.0 * std::clamp(fraction, 0.0, 1.0))));
    m_progress->setFormat(phase.isEmpty() ? tr("Measuring… %p%") : phase + tr(" · %p%"));
}

void SharpnessPanel::clearProgress() {
    m_progress->setVisible(false);
    m_progress->setValue(0);
}

QString SharpnessPanel::captionText() const {
    return QTextDocumentFragment::fromHtml(m_caption->text())
        .toPlainText()
        .replace(QChar::Nbsp, QLatin1Char(' '));
}

bool SharpnessPanel::isProgressVisible() const {
    return !m_progress->isHidden();
}

QString SharpnessPanel::valueText(const SharpnessPoint& figure) {
    if (figure.measure == QLatin1String("epsilon")) {
        return std::isfinite(figure.value)
                   ? QLocale().toString(figure.value, 'g', 3) + QStringLiteral(" %")
                   : QStringLiteral("–");
    }
    return number(figure.value);
}

}  // namespace qs::ui
