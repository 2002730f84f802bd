#include "widgets/SensitivityPanel.h"

#include "visualization/LayerTraceChart.h"
#include "visualization/OmegaChart.h"
#include "visualization/ParetoPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/EmptyStateWidget.h"
#include "widgets/SelectionHub.h"
#include "widgets/TextFormat.h"

#include <QButtonGroup>
#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QStackedWidget>
#include <QTableWidget>
#include <QTextDocumentFragment>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace qs::ui {
namespace {

constexpr int kSliderSteps = 1000;
enum StackPage { EmptyPage, ContentPage };

/// Sizes in decimal units, as the Pareto plot's axis has them.
QString sizeText(double bytes) {
    if (bytes >= 1e6) {
        return QLocale().toString(bytes / 1e6, 'f', 2) + QStringLiteral(" MB");
    }
    if (bytes >= 1e3) {
        return QLocale().toString(bytes / 1e3, 'f', 1) + QStringLiteral(" kB");
    }
    return QLocale().toString(bytes, 'f', 0) + QStringLiteral(" B");
}

QString figure(double v) {
    if (!std::isfinite(v)) {
        return QStringLiteral("–");
    }
    const double a = std::abs(v);
    return a != 0.0 && (a < 1e-3 || a >= 1e5) ? QLocale().toString(v, 'e', 2)
                                              : QLocale().toString(v, 'g', 4);
}

QString bitsText(int bits) {
    return bits == 0 ? QStringLiteral("fp") : QString::number(bits);
}

QString plain(const QString& html) {
    return QTextDocumentFragment::fromHtml(html).toPlainText().replace(QChar::Nbsp,
                                                                       QLatin1Char(' '));
}

}  // namespace

SensitivityPanel::SensitivityPanel(ActiveRunData* data, SelectionHub* hub, QWidget* parent)
    : QWidget(parent),
      m_data(data),
      m_hub(hub),
      m_backend(data->backend()),
      m_analyse(new QPushButton(tr("Analyse Hessian"))),
      m_cancel(new QPushButton(tr("Cancel"))),
      m_samples(new QSpinBox),
      m_traceSamples(new QSpinBox),
      m_mode(new QComboBox),
      m_reports(new QComboBox),
      m_pageButtons(new QButtonGroup(this)),
      m_progress(new QProgressBar),
      m_summary(new QLabel),
      m_error(new QLabel),
      m_stack(new QStackedWidget),
      m_empty(new EmptyStateWidget),
      m_pages(new QStackedWidget),
      m_traceChart(new LayerTraceChart),
      m_omegaChart(new OmegaChart),
      m_pareto(new ParetoPlot),
      m_budgetSlider(new QSlider(Qt::Horizontal)),
      m_budgetLabel(new QLabel),
      m_table(new QTableWidget(0, AllocationColumnCount)),
      m_tableCaption(new QLabel),
      m_train(new QPushButton(tr("Train with this allocation"))) {
    setObjectName(QStringLiteral("SensitivityPanel"));
    m_analyse->setObjectName(QStringLiteral("analyseHessianButton"));
    m_cancel->setObjectName(QStringLiteral("cancelHessianButton"));
    m_train->setObjectName(QStringLiteral("trainAllocationButton"));
    for (QPushButton* b : {m_analyse, m_cancel, m_train}) {
        b->setAutoDefault(false);
    }
    m_samples->setObjectName(QStringLiteral("hessianSamples"));
    m_samples->setRange(16, 100000);
    m_samples->setSingleStep(100);
    m_samples->setValue(500);
    m_samples->setToolTip(tr("Images of the fixed evaluation subset the Hessian is taken on"));
    m_traceSamples->setObjectName(QStringLiteral("hessianTraceSamples"));
    m_traceSamples->setRange(1, 10000);
    m_traceSamples->setValue(50);
    m_traceSamples->setToolTip(
        tr("Hutchinson vectors per layer trace: more gives smaller error bars, costs more"));
    m_mode->setObjectName(QStringLiteral("hessianMode"));
    m_mode->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_mode->setMinimumContentsLength(8);
    m_mode->addItem(tr("Run's default"), QString());
    for (const char* mode : {"float", "dequantized", "quantize-after"}) {
        m_mode->addItem(QString::fromLatin1(mode), QString::fromLatin1(mode));
    }
    m_mode->setToolTip(
        tr("Which weights the Hessian is taken at: float, dequantized, or the "
           "latent weights with quantization after"));
    m_reports->setObjectName(QStringLiteral("hessianReports"));
    m_reports->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_reports->setMinimumContentsLength(10);
    m_reports->setToolTip(tr("The run's stored Hessian analyses"));
    m_progress->setObjectName(QStringLiteral("hessianProgress"));
    m_progress->setRange(0, 1000);
    m_progress->setVisible(false);
    m_summary->setObjectName(QStringLiteral("hessianSummary"));
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setWordWrap(true);
    m_summary->setContentsMargins(2, 2, 2, 2);
    m_error->setObjectName(QStringLiteral("sensitivityError"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_error->setVisible(false);

    // A new analysis and its parameters; which report is shown; which page.
    auto* top = new QHBoxLayout;
    top->setSpacing(4);
    top->addWidget(m_analyse);
    top->addWidget(m_cancel);
    top->addStretch(1);
    top->addWidget(new QLabel(tr("Report")));
    top->addWidget(m_reports, 2);
    auto* parameters = new QHBoxLayout;
    parameters->setSpacing(4);
    parameters->addWidget(new QLabel(tr("Samples")));
    parameters->addWidget(m_samples);
    parameters->addSpacing(6);
    parameters->addWidget(new QLabel(tr("Traces")));
    parameters->addWidget(m_traceSamples);
    parameters->addSpacing(6);
    parameters->addWidget(new QLabel(tr("Mode")));
    parameters->addWidget(m_mode);
    parameters->addStretch(1);
    auto* pageButtons = new QHBoxLayout;
    pageButtons->setSpacing(2);
    const std::pair<Page, QString> pages[] = {{Page::Traces, tr("Traces")},
                                              {Page::Omega, tr("Ω by bits")},
                                              {Page::Allocation, tr("Allocation")}};
    for (const auto& [page, text] : pages) {
        auto* button = new QToolButton;
        button->setText(text);
        button->setCheckable(true);
        button->setChecked(page == m_page);
        button->setObjectName(QStringLiteral("sensitivityPage%1").arg(static_cast<int>(page)));
        m_pageButtons->addButton(button, static_cast<int>(page));
        pageButtons->addWidget(button);
    }

    m_traceChart->setObjectName(QStringLiteral("layerTraceChart"));
    m_omegaChart->setObjectName(QStringLiteral("omegaChart"));
    m_pages->addWidget(m_traceChart);
    m_pages->addWidget(m_omegaChart);
    m_pages->addWidget(buildAllocationPage());
    auto* content = new QWidget;
    auto* contentLayout = new QVBoxLayout(content);
    contentLayout->setContentsMargins(0, 0, 0, 0);
    contentLayout->setSpacing(2);
    auto* summaryRow = new QHBoxLayout;
    summaryRow->addWidget(m_summary, 1);
    summaryRow->addLayout(pageButtons);
    summaryRow->setAlignment(pageButtons, Qt::AlignTop);
    contentLayout->addLayout(summaryRow);
    contentLayout->addWidget(m_pages, 1);
    m_stack->insertWidget(EmptyPage, m_empty);
    m_stack->insertWidget(ContentPage, content);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(8, 6, 8, 6);
    layout->setSpacing(4);
    layout->addLayout(top);
    layout->addLayout(parameters);
    layout->addWidget(m_progress);
    layout->addWidget(m_error);
    layout->addWidget(m_stack, 1);

    connect(m_analyse, &QPushButton::clicked, this, &SensitivityPanel::onAnalyse);
    connect(m_cancel, &QPushButton::clicked, this, &SensitivityPanel::onCancel);
    connect(m_reports, &QComboBox::activated, this, &SensitivityPanel::onReportChosen);
    connect(m_pageButtons, &QButtonGroup::idClicked, this,
            [this](int id) { setPage(static_cast<Page>(id)); });
    connect(m_budgetSlider, &QSlider::valueChanged, this, &SensitivityPanel::onSliderMoved);
    connect(m_pareto, &ParetoPlot::pointChosen, this, [this](int index) {
        if (index >= 0 && index < m_pareto->frontier().points.size()) {
            setBudget(m_pareto->frontier().points[index].sizeBytes);
        }
    });
    connect(m_train, &QPushButton::clicked, this, &SensitivityPanel::trainWithAllocation);
    connect(m_traceChart, &LayerTraceChart::layerClicked, hub, &SelectionHub::setActiveLayer);
    connect(m_omegaChart, &OmegaChart::layerClicked, hub, &SelectionHub::setActiveLayer);
    connect(hub, &SelectionHub::activeLayerChanged, this, [this](const QString& layer) {
        m_traceChart->setSelectedLayer(layer);
        m_omegaChart->setSelectedLayer(layer);
    });
    connect(data, &ActiveRunData::reset, this, &SensitivityPanel::updateFromModel);
    connect(data, &ActiveRunData::statusChanged, this, [this] {
        updateActions();
        updateStack();
    });
    connect(data, &ActiveRunData::hessianAnalyzed, this, &SensitivityPanel::onHessianAnalyzed);
    connect(data, &ActiveRunData::analysisProgress, this, &SensitivityPanel::onAnalysisProgress);
    connect(data, &ActiveRunData::analysisEnded, this, &SensitivityPanel::onAnalysisEnded);
    updateFromModel();
}

SensitivityPanel::~SensitivityPanel() = default;

QWidget* SensitivityPanel::buildAllocationPage() {
    m_pareto->setObjectName(QStringLiteral("paretoPlot"));
    m_budgetSlider->setObjectName(QStringLiteral("budgetSlider"));
    m_budgetSlider->setRange(0, kSliderSteps);
    m_budgetSlider->setToolTip(
        tr("Size budget of the weights: the allocation chosen is the frontier point with the "
           "least total sensitivity that fits"));
    m_budgetLabel->setObjectName(QStringLiteral("budgetLabel"));
    m_budgetLabel->setTextFormat(Qt::RichText);
    m_budgetLabel->setWordWrap(true);
    auto* plotSide = new QWidget;
    auto* plotLayout = new QVBoxLayout(plotSide);
    plotLayout->setContentsMargins(0, 0, 0, 0);
    plotLayout->setSpacing(2);
    plotLayout->addWidget(m_pareto, 1);
    auto* budgetRow = new QHBoxLayout;
    budgetRow->setContentsMargins(6, 0, 6, 0);
    budgetRow->addWidget(new QLabel(tr("Budget")));
    budgetRow->addWidget(m_budgetSlider, 1);
    plotLayout->addLayout(budgetRow);
    m_budgetLabel->setContentsMargins(6, 0, 6, 2);
    plotLayout->addWidget(m_budgetLabel);

    m_table->setObjectName(QStringLiteral("allocationTable"));
    m_table->setHorizontalHeaderLabels({tr("Layer"), tr("Bits"), tr("Ω")});
    m_table->horizontalHeaderItem(BitsColumn)
        ->setToolTip(tr("Weight bits of the chosen allocation (fp: float)"));
    m_table->horizontalHeaderItem(OmegaColumn)
        ->setToolTip(tr("The layer's sensitivity at those bits: Tr(H_i)/n_i · ‖Q(W_i) − W_i‖²"));
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setShowGrid(false);
    m_table->setAlternatingRowColors(true);
    m_table->setWordWrap(false);
    m_table->horizontalHeader()->setHighlightSections(false);
    m_table->horizontalHeader()->setSectionResizeMode(LayerColumn, QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(BitsColumn, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(OmegaColumn, QHeaderView::ResizeToContents);
    m_tableCaption->setTextFormat(Qt::RichText);
    m_tableCaption->setWordWrap(true);
    m_train->setToolTip(
        tr("Load a spec that trains this allocation with LSQ from the report's "
           "checkpoint into the configuration, and start it (queued while a "
           "run trains)"));
    // The frontier gets the full width (its legend and labels need it); the chosen point's
    // table sits under it, its caption and the Train button beside it.
    auto* tableSide = new QWidget;
    auto* tableLayout = new QHBoxLayout(tableSide);
    tableLayout->setContentsMargins(0, 0, 0, 0);
    tableLayout->setSpacing(6);
    tableLayout->addWidget(m_table, 3);
    auto* actions = new QVBoxLayout;
    actions->setSpacing(6);
    actions->addWidget(m_tableCaption);
    actions->addStretch(1);
    actions->addWidget(m_train);
    tableLayout->addLayout(actions, 2);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        const QList<QTableWidgetItem*> items = m_table->selectedItems();
        if (!items.isEmpty()) {
            m_hub->setActiveLayer(m_table->item(items.first()->row(), LayerColumn)->text());
        }
    });

    auto* split = new QSplitter(Qt::Vertical);
    split->setObjectName(QStringLiteral("allocationSplitter"));
    split->addWidget(plotSide);
    split->addWidget(tableSide);
    split->setChildrenCollapsible(false);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setSizes({300, 170});
    return split;
}

void SensitivityPanel::setAnalysisControls(AnalysisControls* controls) {
    m_controls = controls;
    if (controls) {
        connect(controls, &AnalysisControls::stateChanged, this, &SensitivityPanel::updateActions);
    }
    updateActions();
}

HessianRequest SensitivityPanel::request() const {
    HessianRequest r;
    r.mode = m_mode->currentData().toString();
    r.samples = m_samples->value();
    r.traceSamples = m_traceSamples->value();
    return r;
}

const HessianSummary* SensitivityPanel::report(qint64 id) const {
    for (const HessianSummary& h : m_data->hessianReports()) {
        if (h.id == id) {
            return &h;
        }
    }
    return nullptr;
}

void SensitivityPanel::updateFromModel() {
    m_analysing = m_controls && m_controls->currentKind() == AnalysisControls::Kind::Hessian &&
                  m_controls->currentRun() == m_data->runId() && m_data->runId() != 0;
    m_progress->setVisible(m_analysing);
    showError(QString());
    fillReports();
    const QVector<HessianSummary>& reports = m_data->hessianReports();
    showReport(reports.isEmpty() ? 0 : reports.last().id);
}

void SensitivityPanel::fillReports() {
    const QSignalBlocker block(m_reports);
    m_reports->clear();
    for (const HessianSummary& h : m_data->hessianReports()) {
        m_reports->addItem(tr("#%1 · step %2 · %3 · %4")
                               .arg(h.id)
                               .arg(h.step)
                               .arg(h.mode)
                               .arg(countNoun(h.layers.size(), tr("layer"), tr("layers"))),
                           h.id);
    }
    m_reports->setCurrentIndex(m_reports->findData(m_reportId));
    m_reports->setEnabled(m_reports->count() > 0);
}

void SensitivityPanel::showReport(qint64 id) {
    const HessianSummary* h = report(id);
    m_reportId = h ? id : 0;
    {
        const QSignalBlocker block(m_reports);
        m_reports->setCurrentIndex(m_reports->findData(m_reportId));
    }
    showError(QString());
    m_frontier = ParetoFrontier{};
    if (!h) {
        m_summary->clear();
        m_traceChart->setLayers({});
        m_omegaChart->setLayers({});
    } else {
        m_traceChart->setLayers(h->layers);
        m_omegaChart->setLayers(h->layers);
        m_traceChart->setSelectedLayer(m_hub->activeLayer());
        m_omegaChart->setSelectedLayer(m_hub->activeLayer());
        QStringList eigen;
        for (int k = 0; k < h->eigenvalues.size(); ++k) {
            eigen << QStringLiteral("λ<sub>%1</sub>&nbsp;<b>%2</b>")
                         .arg(k + 1)
                         .arg(figure(h->eigenvalues[k]));
        }
        m_summary->setText(
            tr("%1&nbsp;&nbsp;·&nbsp;&nbsp;total trace <b>%2</b>&nbsp;±&nbsp;%3&nbsp;&nbsp;·"
               "&nbsp;&nbsp;<span style='color:#616161'>%4, checkpoint at step %5 (%6)</span>")
                .arg(eigen.isEmpty() ? tr("no eigenvalues") : eigen.join(QStringLiteral(", ")))
                .arg(figure(h->trace), figure(h->traceSe))
                .arg(countNoun(h->layers.size(), tr("layer"), tr("layers")))
                .arg(h->step)
                .arg(h->mode.toHtmlEscaped()));
        QString error;
        m_frontier = m_backend->paretoFrontier(id, &error);
        if (m_frontier.points.isEmpty()) {
            showError(tr("No allocation for report %1: %2")
                          .arg(id)
                          .arg(error.isEmpty() ? tr("the frontier is empty") : error));
        }
    }
    m_pareto->setFrontier(m_frontier);
    m_minSize = m_maxSize = 0.0;
    for (const FrontierPoint& p : m_frontier.points) {
        m_minSize = m_minSize == 0.0 ? p.sizeBytes : std::min(m_minSize, p.sizeBytes);
        m_maxSize = std::max(m_maxSize, p.sizeBytes);
    }
    m_budgetSlider->setEnabled(m_maxSize > m_minSize);
    m_budget = 0.0;
    if (!m_frontier.points.isEmpty()) {
        // Start where most runs start: every layer at 4 bits, here with the best mix that fits.
        const auto uniform4 = m_frontier.uniform.find(4);
        setBudget(uniform4 != m_frontier.uniform.end() ? uniform4->sizeBytes : m_maxSize);
    } else {
        m_pareto->setBudget(0.0);
        applyChoice();
    }
    updateStack();
    updateActions();
}

void SensitivityPanel::setBudget(double bytes) {
    if (m_frontier.points.isEmpty()) {
        return;
    }
    m_budget = std::clamp(bytes, m_minSize, m_maxSize);
    m_pareto->setBudget(m_budget);
    {
        const QSignalBlocker block(m_budgetSlider);
        m_budgetSlider->setValue(sliderPosition(m_budget));
    }
    applyChoice();
}

int SensitivityPanel::sliderPosition(double bytes) const {
    if (!(m_maxSize > m_minSize)) {
        return 0;
    }
    return int(std::lround((bytes - m_minSize) / (m_maxSize - m_minSize) * kSliderSteps));
}

double SensitivityPanel::sliderBytes(int position) const {
    // The ends are the frontier's exact sizes, so both extreme points can be chosen.
    if (position <= 0) {
        return m_minSize;
    }
    if (position >= kSliderSteps) {
        return m_maxSize;
    }
    return m_minSize + (m_maxSize - m_minSize) * position / kSliderSteps;
}

void SensitivityPanel::onSliderMoved(int position) {
    setBudget(sliderBytes(position));
}

int SensitivityPanel::chosenIndex() const {
    return m_frontier.points.isEmpty() ? -1 : m_pareto->chosenIndex();
}

QMap<QString, int> SensitivityPanel::chosenAllocation() const {
    const int index = chosenIndex();
    return index < 0 ? QMap<QString, int>{} : m_pareto->frontier().points[index].bits;
}

void SensitivityPanel::applyChoice() {
    const int index = chosenIndex();
    const QMap<QString, int> bits = chosenAllocation();
    m_omegaChart->setAllocation(bits);
    m_hub->setPlannedAllocation(bits);
    m_train->setEnabled(index >= 0);

    // The bits the run has now, to mark what the allocation changes.
    QMap<QString, int> current;
    for (const LayerRow& r : m_data->latestLayers()) {
        current.insert(r.layer, r.weightBits);
    }
    const HessianSummary* h = report(m_reportId);
    m_table->clearContents();
    m_table->setRowCount(index < 0 || !h ? 0 : h->layers.size());
    if (index >= 0 && h) {
        for (int row = 0; row < h->layers.size(); ++row) {
            const LayerSensitivity& l = h->layers[row];
            const int b = bits.value(l.layer, -1);
            auto* name = new QTableWidgetItem(l.layer);
            auto* bitsItem = new QTableWidgetItem(b < 0 ? QStringLiteral("–") : bitsText(b));
            auto* omega =
                new QTableWidgetItem(b <= 0 ? QStringLiteral("–") : figure(l.omega.value(b)));
            bitsItem->setTextAlignment(Qt::AlignCenter);
            omega->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            if (current.contains(l.layer) && b >= 0 && current.value(l.layer) != b) {
                QFont bold = bitsItem->font();
                bold.setBold(true);
                bitsItem->setFont(bold);
                bitsItem->setForeground(b != 0 && b < current.value(l.layer)
                                            ? QColor(0x15, 0x65, 0xc0)
                                            : QColor(0xb2, 0x4a, 0x00));
                bitsItem->setToolTip(tr("Now %1 bits").arg(bitsText(current.value(l.layer))));
            }
            m_table->setItem(row, LayerColumn, name);
            m_table->setItem(row, BitsColumn, bitsItem);
            m_table->setItem(row, OmegaColumn, omega);
        }
    }

    if (index < 0) {
        m_budgetLabel->clear();
        m_tableCaption->setText(tr("<span style='color:#757575'>No allocation chosen</span>"));
        return;
    }
    const FrontierPoint& p = m_pareto->frontier().points[index];
    QString budget = tr("Budget <b>%1</b>&nbsp;&nbsp;·&nbsp;&nbsp;chosen %2, Σ&nbsp;Ω %3")
                         .arg(sizeText(m_budget), sizeText(p.sizeBytes), figure(p.omega));
    const auto uniform4 = m_frontier.uniform.find(4);
    if (uniform4 != m_frontier.uniform.end()) {
        budget += tr("&nbsp;&nbsp;<span style='color:#616161'>(uniform 4-bit: %1, Σ&nbsp;Ω "
                     "%2)</span>")
                      .arg(sizeText(uniform4->sizeBytes), figure(uniform4->omega));
    }
    m_budgetLabel->setText(budget);
    int changed = 0;
    QMap<int, int> layersAt;
    for (auto it = bits.begin(); it != bits.end(); ++it) {
        if (current.contains(it.key()) && current.value(it.key()) != it.value()) {
            ++changed;
        }
        ++layersAt[it.value()];
    }
    QStringList mix;
    for (auto it = layersAt.begin(); it != layersAt.end(); ++it) {
        mix << tr("%1&nbsp;×&nbsp;%2")
                   .arg(it.value())
                   .arg(it.key() == 0 ? tr("float") : tr("%1-bit").arg(it.key()));
    }
    qint64 weights = 0;
    for (const LayerSensitivity& l : h ? h->layers : QVector<LayerSensitivity>{}) {
        weights += l.params;
    }
    const QString perWeight =
        weights > 0 ? tr("<br>%1 bits per weight on average")
                          .arg(QLocale().toString(8.0 * p.sizeBytes / double(weights), 'f', 2))
                    : QString();
    m_tableCaption->setText(
        tr("<b>Point %1 of %2</b><br><span style='color:#616161'>%3 changed against the run"
           "<br>%4%5</span>")
            .arg(index + 1)
            .arg(m_pareto->frontier().points.size())
            .arg(countNoun(changed, tr("layer"), tr("layers")))
            .arg(mix.join(QStringLiteral(", ")), perWeight));
}

void SensitivityPanel::setPage(Page page) {
    m_page = page;
    m_pages->setCurrentIndex(static_cast<int>(page));
    const QSignalBlocker block(m_pageButtons);
    m_pageButtons->button(static_cast<int>(page))->setChecked(true);
}

void SensitivityPanel::updateStack() {
    const qint64 runId = m_data->runId();
    if (runId != 0 && m_reportId != 0) {
        m_stack->setCurrentIndex(ContentPage);
        return;
    }
    if (runId == 0) {
        m_empty->setText(tr("No run selected"),
                         tr("Open a run to analyse the Hessian of its last checkpoint."));
    } else if (m_data->isLive()) {
        m_empty->setText(tr("No Hessian analysis yet"),
                         tr("This run is training; analyse its Hessian after it ends."));
    } else {
        m_empty->setText(
            tr("No Hessian analysis for this run yet"),
            tr("Analyse Hessian estimates the top eigenvalues and every layer's trace at the "
               "run's last checkpoint. Then choose bits per layer under a size budget and "
               "train that allocation."));
    }
    m_stack->setCurrentIndex(EmptyPage);
}

void SensitivityPanel::updateActions() {
    const qint64 runId = m_data->runId();
    const QString reason =
        m_controls ? m_controls->blockReason(runId, m_data->data().summary.status, m_data->isLive())
                   : tr("Analyses are not available here.");
    m_analyse->setEnabled(reason.isEmpty());
    m_analyse->setToolTip(reason.isEmpty()
                              ? tr("Estimate the top eigenvalues and the per-layer traces of run "
                                   "%1's last checkpoint; the report is kept with the run")
                                    .arg(runId)
                              : reason);
    m_cancel->setEnabled(m_analysing && m_controls);
    m_cancel->setVisible(m_analysing);
}

void SensitivityPanel::showError(const QString& text) {
    m_error->setText(text);
    m_error->setVisible(!text.isEmpty());
}

void SensitivityPanel::onAnalyse() {
    if (!m_controls || !m_controls->analyzeHessian(m_data->runId(), request())) {
        return;
    }
    m_analysing = true;
    m_progress->setValue(0);
    m_progress->setFormat(tr("Analysing the Hessian… %p%"));
    m_progress->setVisible(true);
    updateActions();
}

void SensitivityPanel::onCancel() {
    if (m_controls) {
        m_controls->cancelAnalysis();
    }
}

void SensitivityPanel::onReportChosen(int index) {
    showReport(m_reports->itemData(index).toLongLong());
}

void SensitivityPanel::onHessianAnalyzed(const HessianSummary& summary) {
    m_analysing = false;
    m_progress->setVisible(false);
    fillReports();
    showReport(summary.id);
}

void SensitivityPanel::onAnalysisProgress(const QString& phase, double fraction) {
    if (!m_analysing) {
        return;
    }
    m_progress->setValue(int(std::lround(1000.0 * std::clamp(fraction, 0.0, 1.0))));
    m_progress->setFormat(phase.isEmpty() ? tr("Analysing the Hessian… %p%")
                                          : phase + tr(" · %p%"));
}

void SensitivityPanel::onAnalysisEnded() {
    if (m_analysing && !m_backend->isAnalysing()) {
        m_analysing = false;
        m_progress->setVisible(false);
    }
    updateActions();
}

bool SensitivityPanel::trainWithAllocation() {
    const QMap<QString, int> bits = chosenAllocation();
    if (m_reportId == 0 || bits.isEmpty()) {
        return false;
    }
    QString error;
    const QJsonObject spec = m_backend->allocationSpec(m_reportId, bits, &error);
    if (spec.isEmpty()) {
        const QString text = tr("Could not make a spec for this allocation: %1")
                                 .arg(error.isEmpty() ? tr("unknown error") : error);
        showError(text);
        Q_EMIT errorOccurred(text);
        return false;
    }
    showError(QString());
    Q_EMIT trainRequested(spec);
    return true;
}

QString SensitivityPanel::summaryText() const {
    return plain(m_summary->text());
}

QString SensitivityPanel::errorText() const {
    return m_error->isHidden() ? QString() : m_error->text();
}

QString SensitivityPanel::budgetText() const {
    return plain(m_budgetLabel->text());
}

bool SensitivityPanel::isEmptyStateVisible() const {
    return m_stack->currentIndex() == EmptyPage;
}

QString SensitivityPanel::emptyTitle() const {
    return m_empty->title();
}

bool SensitivityPanel::isProgressVisible() const {
    return !m_progress->isHidden();
}

}  // namespace qs::ui
