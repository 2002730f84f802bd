// The live views of the active run in one place, as tabs: training curves with the method's own
// streamed state (SQuAT's perturbed loss and norms, noise tempering's lambda) under them; bit
// widths with the quantization error; step-size traces with a layer chooser; the weight
// histogram of the active layer; the run's sharpness figures; its loss landscapes; its Hessian
// sensitivities and the bit allocation chosen from them. Fed by ActiveRunData, so a live run
// streams in and an opened past run restores every view. Each tab says plainly why it is empty when
// it is.
#pragma once

#include <QJsonObject>
#include <QSet>
#include <QWidget>

class QAction;
class QLabel;
class QListWidget;
class QListWidgetItem;
class QStackedWidget;
class QTabWidget;

namespace qs::ui {

class ActiveRunData;
class AnalysisControls;
class BitWidthChart;
class EmptyStateWidget;
class MethodStatePlot;
class QuantErrorChart;
class LandscapePanel;
class SensitivityPanel;
class SharpnessPanel;
class SelectionHub;
class StepSizePlot;
class TrainingCurvesPlot;
class WeightHistogramPlot;
struct LayerSnapshot;
struct MetricPoint;
struct WeightHistogram;

class Dashboard : public QWidget {
    Q_OBJECT
public:
    enum Tab {
        CurvesTab,
        BitsTab,
        StepsTab,
        HistogramTab,
        SharpnessTab,
        LandscapeTab,
        SensitivityTab,
        TabCount
    };

    Dashboard(ActiveRunData* data, SelectionHub* hub, QWidget* parent = nullptr);

    QTabWidget* tabs() const { return m_tabs; }
    TrainingCurvesPlot* curvesPlot() const { return m_curves; }
    /// Under the curves: the method's streamed state.
    MethodStatePlot* methodStatePlot() const { return m_methodState; }
    SharpnessPanel* sharpnessPanel() const { return m_sharpness; }
    /// The action behind the sharpness tab's "Measure sharpness" button.
    void setSharpnessAction(QAction* action);
    LandscapePanel* landscapePanel() const { return m_landscape; }
    SensitivityPanel* sensitivityPanel() const { return m_sensitivity; }
    /// Where the landscape and sensitivity tabs start their analyses; also tells the tabs apart
    /// when progress arrives.
    void setAnalysisControls(AnalysisControls* controls);
    BitWidthChart* bitWidthChart() const { return m_bits; }
    QuantErrorChart* quantErrorChart() const { return m_error; }
    StepSizePlot* stepSizePlot() const { return m_steps; }
    WeightHistogramPlot* histogramPlot() const { return m_histogram; }
    /// The step-size tab's layer list (checked = traced).
    QListWidget* stepLayerChooser() const { return m_stepLayers; }
    /// Layers whose step sizes are traced now.
    QStringList visibleStepLayers() const;
    /// Whether a tab shows its empty state, and that state's title.
    bool isEmptyState(Tab tab) const;
    QString emptyStateTitle(Tab tab) const;
    /// The line above the tabs naming the shown run, as plain text.
    QString bannerText() const;

Q_SIGNALS:
    /// The sensitivity tab asks to train an allocation with this spec.
    void trainRequested(const QJsonObject& spec);
    /// A tab has an error for the notification bar.
    void errorOccurred(const QString& message);

private:
    void updateFromModel();
    void updateBanner();
    void updateEmptyStates();
    void updateHistogramCaption();
    void fillStepLayerChooser(const QStringList& layers);
    void onMetricsAppended(const QVector<MetricPoint>& points);
    void onLayersAppended(const LayerSnapshot& snapshot);
    void onHistogramChanged(const WeightHistogram& histogram);
    void updateMethodStateEmptyText();
    void onActiveLayerChanged(const QString& layer);
    void onStepLayerToggled(QListWidgetItem* item);
    void setAllStepLayers(bool visible);
    QString runLabel() const;

    ActiveRunData* m_data;
    SelectionHub* m_hub;
    QLabel* m_banner;
    QLabel* m_bannerMetrics;
    QTabWidget* m_tabs;
    QStackedWidget* m_stacks[TabCount] = {};
    EmptyStateWidget* m_empty[TabCount] = {};
    TrainingCurvesPlot* m_curves;
    MethodStatePlot* m_methodState;
    SharpnessPanel* m_sharpness;
    LandscapePanel* m_landscape;
    SensitivityPanel* m_sensitivity;
    AnalysisControls* m_controls = nullptr;
    BitWidthChart* m_bits;
    QuantErrorChart* m_error;
    StepSizePlot* m_steps;
    QListWidget* m_stepLayers;
    WeightHistogramPlot* m_histogram;
    QLabel* m_histogramCaption;
    /// Layers the user unticked in the step-size chooser; kept across runs.
    QSet<QString> m_hiddenStepLayers;
    bool m_hasMetrics = false;
};

}  // namespace qs::ui
