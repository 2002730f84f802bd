#include "widgets/Dashboard.h"

#include "visualization/BitWidthChart.h"
#include "visualization/MethodStatePlot.h"
#include "visualization/QuantErrorChart.h"
#include "visualization/StepSizePlot.h"
#include "visualization/TrainingCurvesPlot.h"
#include "visualization/WeightHistogramPlot.h"
#include "widgets/ActiveRunData.h"
#include "widgets/AnalysisControls.h"
#include "widgets/EmptyStateWidget.h"
#include "widgets/LandscapePanel.h"
#include "widgets/LayerTableModel.h"
#include "widgets/RunListModel.h"
#include "widgets/SelectionHub.h"
#include "widgets/SensitivityPanel.h"
#include "widgets/SharpnessPanel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSplitter>
#include <QStackedWidget>
#include <QTabWidget>
#include <QTextDocumentFragment>
#include <QVBoxLayout>

namespace qs::ui {
namespace {

QLabel* captionLabel() {
    auto* l = new QLabel;
    l->setTextFormat(Qt::RichText);
    l->setContentsMargins(8, 6, 8, 2);
    l->setWordWrap(true);
    return l;
}

QString archLabel(const QString& arch) {
    if (arch.startsWith(QLatin1String("resnet"))) {
        return QStringLiteral("ResNet-") + arch.mid(6);
    }
    return arch;
}

}  // namespace

Dashboard::Dashboard(ActiveRunData* data, SelectionHub* hub, QWidget* parent)
    : QWidget(parent),
      m_data(data),
      m_hub(hub),
      m_banner(new QLabel),
      m_bannerMetrics(new QLabel),
      m_tabs(new QTabWidget),
      m_curves(new TrainingCurvesPlot),
      m_methodState(new MethodStatePlot),
      m_sharpness(new SharpnessPanel),
      m_landscape(new LandscapePanel(data)),
      m_sensitivity(new SensitivityPanel(data, hub)),
      m_bits(new BitWidthChart),
      m_error(new QuantErrorChart),
      m_steps(new StepSizePlot),
      m_stepLayers(new QListWidget),
      m_histogram(new WeightHistogramPlot),
      m_histogramCaption(captionLabel()) {
    setObjectName(QStringLiteral("Dashboard"));
    m_banner->setObjectName(QStringLiteral("dashboardBanner"));
    m_banner->setTextFormat(Qt::RichText);
    // Wraps rather than widening the centre: an unwrapped label's minimum width is its text.
    m_banner->setWordWrap(true);
    m_banner->setContentsMargins(10, 6, 4, 6);
    m_bannerMetrics->setObjectName(QStringLiteral("dashboardMetrics"));
    m_bannerMetrics->setTextFormat(Qt::RichText);
    m_bannerMetrics->setContentsMargins(4, 6, 10, 6);
    m_bannerMetrics->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    m_tabs->setObjectName(QStringLiteral("dashboardTabs"));
    m_tabs->setDocumentMode(true);

    // Curves above the method's state, on one step axis range each (the method plot is the
    // smaller: it explains the curves rather than competing with them).
    auto* curvesPage = new QSplitter(Qt::Vertical);
    curvesPage->setObjectName(QStringLiteral("curvesSplitter"));
    m_methodState->setObjectName(QStringLiteral("methodStatePlot"));
    curvesPage->addWidget(m_curves);
    curvesPage->addWidget(m_methodState);
    curvesPage->setChildrenCollapsible(false);
    curvesPage->setStretchFactor(0, 3);
    curvesPage->setStretchFactor(1, 2);
    curvesPage->setSizes({560, 440});

    // Bit widths above the quantization error, same layer order, one selection.
    auto* bitsSplit = new QSplitter(Qt::Vertical);
    bitsSplit->setObjectName(QStringLiteral("bitsSplitter"));
    bitsSplit->addWidget(m_bits);
    bitsSplit->addWidget(m_error);
    bitsSplit->setChildrenCollapsible(false);
    bitsSplit->setStretchFactor(0, 1);
    bitsSplit->setStretchFactor(1, 1);

    // Step sizes with the layer chooser at the side.
    m_stepLayers->setObjectName(QStringLiteral("stepLayerChooser"));
    m_stepLayers->setUniformItemSizes(true);
    auto* all = new QPushButton(tr("All"));
    auto* none = new QPushButton(tr("None"));
    for (QPushButton* b : {all, none}) {
        b->setAutoDefault(false);
    }
    auto* chooserTitle = new QLabel(tr("<b>Layers traced</b>"));
    auto* chooser = new QWidget;
    auto* chooserLayout = new QVBoxLayout(chooser);
    chooserLayout->setContentsMargins(6, 6, 6, 6);
    chooserLayout->setSpacing(4);
    chooserLayout->addWidget(chooserTitle);
    chooserLayout->addWidget(m_stepLayers, 1);
    auto* chooserButtons = new QHBoxLayout;
    chooserButtons->addWidget(all);
    chooserButtons->addWidget(none);
    chooserLayout->addLayout(chooserButtons);
    auto* stepsSplit = new QSplitter(Qt::Horizontal);
    stepsSplit->setObjectName(QStringLiteral("stepsSplitter"));
    stepsSplit->addWidget(m_steps);
    stepsSplit->addWidget(chooser);
    stepsSplit->setChildrenCollapsible(false);
    stepsSplit->setStretchFactor(0, 1);
    stepsSplit->setStretchFactor(1, 0);
    stepsSplit->setSizes({700, 190});

    // Histogram with a caption naming the layer and its grid.
    auto* histogramPage = new QWidget;
    auto* histogramLayout = new QVBoxLayout(histogramPage);
    histogramLayout->setContentsMargins(0, 0, 0, 0);
    histogramLayout->setSpacing(0);
    histogramLayout->addWidget(m_histogramCaption);
    histogramLayout->addWidget(m_histogram, 1);

    const QWidget* pages[TabCount] = {curvesPage,  bitsSplit,   stepsSplit,   histogramPage,
                                      m_sharpness, m_landscape, m_sensitivity};
    // Short titles: seven tabs share the centre's width beside both docks.
    const QString titles[TabCount] = {tr("Curves"),     tr("Bits && error"), tr("Step sizes"),
                                      tr("Histogram"),  tr("Sharpness"),     tr("Landscape"),
                                      tr("Sensitivity")};
    const QString tips[TabCount] = {
        tr("Training curves, with the method's own state under them"),
        tr("Bit widths and quantization error per layer"),
        tr("Step sizes per layer over training"),
        tr("Weight histogram of the active layer against its quantization grid"),
        tr("Sharpness of the run's last checkpoint"),
        tr("Loss landscapes around the run's checkpoints"),
        tr("Hessian sensitivities and the bit allocation chosen from them")};
    for (int t = 0; t < TabCount; ++t) {
        m_stacks[t] = new QStackedWidget;
        m_empty[t] = new EmptyStateWidget;
        m_stacks[t]->addWidget(m_empty[t]);
        m_stacks[t]->addWidget(const_cast<QWidget*>(pages[t]));
        m_tabs->addTab(m_stacks[t], titles[t]);
        m_tabs->setTabToolTip(t, tips[t]);
    }

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    auto* banner = new QHBoxLayout;
    banner->setSpacing(0);
    banner->addWidget(m_banner, 1);
    banner->addWidget(m_bannerMetrics);
    layout->addLayout(banner);
    layout->addWidget(m_tabs, 1);

    connect(data, &ActiveRunData::reset, this, &Dashboard::updateFromModel);
    connect(data, &ActiveRunData::statusChanged, this, &Dashboard::updateBanner);
    connect(data, &ActiveRunData::metricsAppended, this, &Dashboard::onMetricsAppended);
    connect(data, &ActiveRunData::layersAppended, this, &Dashboard::onLayersAppended);
    connect(data, &ActiveRunData::histogramChanged, this, &Dashboard::onHistogramChanged);
    connect(data, &ActiveRunData::sharpnessAppended, this,
            [this] { m_sharpness->setFigures(m_data->data().sharpness); });
    // Progress belongs to the tab whose analysis runs: landscapes and Hessians show their own.
    connect(
        data, &ActiveRunData::analysisProgress, this,
        [this](const QString& phase, double fraction) {
            const bool other =
                m_landscape->isComputing() || m_sensitivity->isAnalysing() ||
                (m_controls && (m_controls->currentKind() == AnalysisControls::Kind::Landscape ||
                                m_controls->currentKind() == AnalysisControls::Kind::Hessian));
            if (!other) {
                m_sharpness->setProgress(phase, fraction);
            }
        });
    connect(m_sensitivity, &SensitivityPanel::trainRequested, this, &Dashboard::trainRequested);
    connect(m_sensitivity, &SensitivityPanel::errorOccurred, this, &Dashboard::errorOccurred);
    connect(m_landscape, &LandscapePanel::errorOccurred, this, &Dashboard::errorOccurred);
    connect(data, &ActiveRunData::analysisEnded, m_sharpness, &SharpnessPanel::clearProgress);
    connect(hub, &SelectionHub::activeLayerChanged, this, &Dashboard::onActiveLayerChanged);
    connect(m_bits, &BitWidthChart::layerClicked, hub, &SelectionHub::setActiveLayer);
    connect(m_error, &QuantErrorChart::layerClicked, hub, &SelectionHub::setActiveLayer);
    connect(m_stepLayers, &QListWidget::itemChanged, this, &Dashboard::onStepLayerToggled);
    connect(m_stepLayers, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { m_hub->setActiveLayer(item->text()); });
    connect(all, &QPushButton::clicked, this, [this] { setAllStepLayers(true); });
    connect(none, &QPushButton::clicked, this, [this] { setAllStepLayers(false); });
    updateFromModel();
}

QString Dashboard::runLabel() const {
    const RunData& d = m_data->data();
    return QStringLiteral("#%1 %2").arg(d.summary.id).arg(d.summary.name);
}

void Dashboard::setSharpnessAction(QAction* action) {
    m_sharpness->setMeasureAction(action);
}

void Dashboard::setAnalysisControls(AnalysisControls* controls) {
    m_controls = controls;
    m_landscape->setAnalysisControls(controls);
    m_sensitivity->setAnalysisControls(controls);
}

void Dashboard::updateFromModel() {
    const RunData& d = m_data->data();
    m_curves->clear();
    m_methodState->clear();
    m_hasMetrics = !d.metrics.isEmpty();
    if (m_data->runId() != 0 && m_hasMetrics) {
        // One run: the banner names it, so the legend keeps to "train loss", "eval acc", ...
        m_curves->addPoints(d.summary.id, QString(), d.metrics);
        m_curves->rescale();
        m_methodState->addPoints(d.metrics);
        m_methodState->rescale();
    }
    updateMethodStateEmptyText();
    m_sharpness->setFigures(d.sharpness);
    m_sharpness->clearProgress();
    const QVector<LayerRow> layers = m_data->latestLayers();
    m_bits->setLayers(layers);
    m_error->setLayers(layers);
    fillStepLayerChooser(m_data->layerNames());
    m_steps->setSnapshots(d.layerHistory);
    m_steps->setVisibleLayers(visibleStepLayers());
    onActiveLayerChanged(m_hub->activeLayer());
    if (m_data->histogram().counts.isEmpty()) {
        m_histogram->clear();
    } else {
        m_histogram->setHistogram(m_data->histogram());
    }
    updateBanner();
    updateHistogramCaption();
    updateEmptyStates();
}

void Dashboard::updateBanner() {
    if (m_data->runId() == 0) {
        m_banner->setText(tr("<span style='color:#757575'>No run selected</span>"));
        m_bannerMetrics->clear();
        return;
    }
    const RunSummary& s = m_data->data().summary;
    const QJsonObject spec = m_data->data().spec;
    const QString status = s.status.isEmpty() ? tr("unknown") : s.status;
    QString what = archLabel(s.arch.isEmpty() ? spec.value(QStringLiteral("model"))
                                                    .toObject()
                                                    .value(QStringLiteral("arch"))
                                                    .toString()
                                              : s.arch);
    const QString method = s.method.isEmpty() ? spec.value(QStringLiteral("method"))
                                                    .toObject()
                                                    .value(QStringLiteral("name"))
                                                    .toString()
                                              : s.method;
    what += QStringLiteral(" · ") + method.toUpper();
    if (!s.bits.isEmpty()) {
        what += QLatin1Char(' ') + s.bits;
    }
    if (!s.dataset.isEmpty()) {
        what += QStringLiteral(" · ") + s.dataset;
    }
    QStringList metrics;
    const auto acc = s.finalMetrics.find(QStringLiteral("eval/acc"));
    if (acc != s.finalMetrics.end()) {
        metrics << tr("eval acc&nbsp;<b>%1&nbsp;%</b>")
                       .arg(QLocale().toString(100.0 * acc.value(), 'f', 2));
    }
    const auto best = s.finalMetrics.find(QStringLiteral("eval/best_acc"));
    if (best != s.finalMetrics.end()) {
        metrics << tr("best&nbsp;%1&nbsp;%").arg(QLocale().toString(100.0 * best.value(), 'f', 2));
    }
    m_banner->setText(
        QStringLiteral("<b>%1</b>&nbsp;&nbsp;<span style='color:%2'>&#9679;&nbsp;%3</span>"
                       "&nbsp;&nbsp; <span style='color:#616161'>%4</span>")
            .arg(runLabel().toHtmlEscaped(), RunListModel::statusColor(status).name(),
                 status.toHtmlEscaped(), what.toHtmlEscaped()));
    m_bannerMetrics->setText(metrics.join(QStringLiteral("&nbsp;&nbsp;&nbsp;")));
    updateEmptyStates();
}

void Dashboard::updateEmptyStates() {
    const bool noRun = m_data->runId() == 0;
    const bool live = m_data->isLive();
    const RunData& d = m_data->data();
    const bool hasLayers = !d.layerHistory.isEmpty();
    const QString noRunTitle = tr("No run selected");
    const QString noRunHint =
        tr("Start a run with Run (Ctrl+R), or open a past run from the run browser.");
    auto show = [this](Tab t, bool empty, const QString& title, const QString& hint) {
        m_empty[t]->setText(title, hint);
        m_stacks[t]->setCurrentIndex(empty ? 0 : 1);
    };
    if (noRun) {
        for (int t = 0; t < TabCount; ++t) {
            show(Tab(t), true, noRunTitle, noRunHint);
        }
        return;
    }
    show(CurvesTab, !m_hasMetrics,
         live ? tr("Waiting for the first metrics") : tr("No metrics recorded"),
         live ? tr("Loss and accuracy appear after the first logged steps.")
              : tr("This run ended before it logged any step."));
    const QString layersTitle =
        live ? tr("Waiting for layer states") : tr("No layer states recorded");
    const QString layersHint =
        live ? tr("Per-layer bits, step sizes and errors arrive every few steps (state_every).")
             : tr("This run ended before its first per-layer state.");
    show(BitsTab, !hasLayers, layersTitle, layersHint);
    show(StepsTab, !hasLayers, layersTitle, layersHint);
    const QString layer = m_hub->activeLayer();
    if (layer.isEmpty()) {
        show(HistogramTab, true, tr("No layer selected"),
             tr("Pick a layer in the layer table or click one in the bit-width chart."));
    } else if (m_data->histogram().counts.isEmpty()) {
        show(HistogramTab, true,
             live ? tr("Waiting for the histogram of %1").arg(layer)
                  : tr("No histogram for %1").arg(layer),
             live ? tr("The engine sends it within a few steps.")
                  : tr("Weight histograms are streamed while a run is live. Select a layer "
                       "during a run to see its weights against the quantization grid."));
    } else {
        show(HistogramTab, false, QString(), QString());
    }
    // The analysis tabs always have something to say: their figures, or how to get them.
    show(SharpnessTab, false, QString(), QString());
    show(LandscapeTab, false, QString(), QString());
    show(SensitivityTab, false, QString(), QString());
}

void Dashboard::updateHistogramCaption() {
    const WeightHistogram& h = m_data->histogram();
    if (h.counts.isEmpty()) {
        m_histogramCaption->clear();
        return;
    }
    QString grid = h.bits == 0 ? tr("float weights (no grid)")
                               : tr("%1-bit grid, step %2, codes %3…%4")
                                     .arg(h.bits)
                                     .arg(QLocale().toString(h.stepSize, 'g', 4))
                                     .arg(-h.qn)
                                     .arg(h.qp);
    m_histogramCaption->setText(tr("<b>%1</b>&nbsp;&nbsp;<span style='color:#616161'>%2 · at "
                                   "step %3</span>")
                                    .arg(h.layer.toHtmlEscaped(), grid.toHtmlEscaped())
                                    .arg(h.step));
}

void Dashboard::fillStepLayerChooser(const QStringList& layers) {
    QStringList current;
    for (int i = 0; i < m_stepLayers->count(); ++i) {
        current << m_stepLayers->item(i)->text();
    }
    if (current == layers) {
        return;
    }
    const QSignalBlocker block(m_stepLayers);
    m_stepLayers->clear();
    for (const QString& l : layers) {
        auto* item = new QListWidgetItem(l, m_stepLayers);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable | Qt::ItemIsSelectable);
        item->setCheckState(m_hiddenStepLayers.contains(l) ? Qt::Unchecked : Qt::Checked);
    }
}

QStringList Dashboard::visibleStepLayers() const {
    QStringList visible;
    for (int i = 0; i < m_stepLayers->count(); ++i) {
        if (m_stepLayers->item(i)->checkState() == Qt::Checked) {
            visible << m_stepLayers->item(i)->text();
        }
    }
    return visible;
}

bool Dashboard::isEmptyState(Tab tab) const {
    return m_stacks[tab]->currentIndex() == 0;
}

QString Dashboard::emptyStateTitle(Tab tab) const {
    return m_empty[tab]->title();
}

QString Dashboard::bannerText() const {
    const QString html = m_banner->text() + QLatin1Char(' ') + m_bannerMetrics->text();
    return QTextDocumentFragment::fromHtml(html).toPlainText().replace(QChar::Nbsp,
                                                                       QLatin1Char(' '));
}

void Dashboard::updateMethodStateEmptyText() {
    const RunData& d = m_data->data();
    const QString method = d.summary.method.isEmpty() ? d.spec.value(QStringLiteral("method"))
                                                            .toObject()
                                                            .value(QStringLiteral("name"))
                                                            .toString()
                                                      : d.summary.method;
    if (m_data->runId() == 0) {
        m_methodState->setEmptyText(tr("No run selected"));
    } else if (method == QLatin1String("fp")) {
        m_methodState->setEmptyText(tr("Float training (fp) streams no method state"));
    } else if (m_data->isLive()) {
        m_methodState->setEmptyText(tr("Waiting for the method's state (%1)").arg(method));
    } else {
        m_methodState->setEmptyText(tr("No method state recorded for this run (%1)").arg(method));
    }
}

void Dashboard::onMetricsAppended(const QVector<MetricPoint>& points) {
    m_curves->addPoints(m_data->runId(), QString(), points);
    m_curves->rescale();
    m_methodState->addPoints(points);
    m_methodState->rescale();
    if (!m_hasMetrics) {
        m_hasMetrics = true;
        updateEmptyStates();
    }
}

void Dashboard::onLayersAppended(const LayerSnapshot& snapshot) {
    const bool first = m_data->data().layerHistory.size() == 1;
    m_bits->setLayers(snapshot.layers);
    m_error->setLayers(snapshot.layers);
    if (first || m_stepLayers->count() != snapshot.layers.size()) {
        fillStepLayerChooser(m_data->layerNames());
        m_steps->setVisibleLayers(visibleStepLayers());
    }
    m_steps->appendSnapshot(snapshot);
    if (first) {
        updateEmptyStates();
    }
}

void Dashboard::onHistogramChanged(const WeightHistogram& histogram) {
    if (histogram.counts.isEmpty()) {
        m_histogram->clear();
    } else {
        m_histogram->setHistogram(histogram);
    }
    updateHistogramCaption();
    updateEmptyStates();
}

void Dashboard::onActiveLayerChanged(const QString& layer) {
    m_bits->setSelectedLayer(layer);
    m_error->setSelectedLayer(layer);
    m_steps->setSelectedLayer(layer);
    {
        const QSignalBlocker block(m_stepLayers);
        for (int i = 0; i < m_stepLayers->count(); ++i) {
            QListWidgetItem* item = m_stepLayers->item(i);
            item->setSelected(item->text() == layer);
            if (item->text() == layer) {
                m_stepLayers->scrollToItem(item);
            }
        }
    }
    updateEmptyStates();
}

void Dashboard::onStepLayerToggled(QListWidgetItem* item) {
    if (item->checkState() == Qt::Checked) {
        m_hiddenStepLayers.remove(item->text());
    } else {
        m_hiddenStepLayers.insert(item->text());
    }
    m_steps->setVisibleLayers(visibleStepLayers());
}

void Dashboard::setAllStepLayers(bool visible) {
    {
        const QSignalBlocker block(m_stepLayers);
        for (int i = 0; i < m_stepLayers->count(); ++i) {
            QListWidgetItem* item = m_stepLayers->item(i);
            item->setCheckState(visible ? Qt::Checked : Qt::Unchecked);
            if (visible) {
                m_hiddenStepLayers.remove(item->text());
            } else {
                m_hiddenStepLayers.insert(item->text());
            }
        }
    }
    m_steps->setVisibleLayers(visibleStepLayers());
}

}  // namespace qs::ui
