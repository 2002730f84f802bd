// The dashboard's "Sensitivity" tab: the Hessian of the shown run's last checkpoint
// (ALGORITHMS.md section 5) and the mixed-precision allocation chosen from it. "Analyse Hessian"
// (samples, trace samples, mode) starts an analysis through AnalysisControls; a chooser picks
// among the run's stored reports; a summary gives the top eigenvalues and the total trace. Three
// pages, each chart with the room its rotated layer labels need: Traces (per-layer Hessian traces
// with error bars), Omega (per layer and candidate bits, the chosen bits ringed) and Allocation
// (the size-vs-Omega Pareto frontier with a budget slider, the chosen point's bits per layer, and
// "Train with this allocation").
//
// The chosen allocation goes to the SelectionHub (the layer table shows it); training it goes out
// as trainRequested(spec), which the main window starts like the Run button does.
#pragma once

#include "visualization/SensitivityData.h"
#include "widgets/RunBackend.h"

#include <QJsonObject>
#include <QWidget>

class QButtonGroup;
class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QSlider;
class QSpinBox;
class QStackedWidget;
class QTableWidget;

namespace qs::ui {

class ActiveRunData;
class AnalysisControls;
class EmptyStateWidget;
class LayerTraceChart;
class OmegaChart;
class ParetoPlot;
class SelectionHub;

class SensitivityPanel : public QWidget {
    Q_OBJECT
public:
    enum class Page { Traces, Omega, Allocation };
    /// Columns of the chosen allocation's table.
    enum AllocationColumn { LayerColumn, BitsColumn, OmegaColumn, AllocationColumnCount };

    SensitivityPanel(ActiveRunData* data, SelectionHub* hub, QWidget* parent = nullptr);
    ~SensitivityPanel() override;

    /// Where "Analyse Hessian" and Cancel go; without it they stay disabled.
    void setAnalysisControls(AnalysisControls* controls);

    /// The analysis the controls describe now.
    HessianRequest request() const;
    /// The report shown (0: none), and showing another of the run's reports.
    qint64 shownReport() const { return m_reportId; }
    void showReport(qint64 id);
    /// True from a successful "Analyse Hessian" until its report (or failure) arrives.
    bool isAnalysing() const { return m_analysing; }

    /// The shown report's frontier (no points when it could not be computed).
    const ParetoFrontier& frontier() const { return m_frontier; }
    /// The size budget in bytes (0 without a frontier); moving it chooses the frontier point
    /// with the largest size within it. Clamped to the frontier's sizes.
    double budget() const { return m_budget; }
    void setBudget(double bytes);
    /// Index of the chosen frontier point (-1: none) and its bits per layer.
    int chosenIndex() const;
    QMap<QString, int> chosenAllocation() const;

    Page page() const { return m_page; }
    void setPage(Page page);

    /// Asks the backend for the spec that trains the chosen allocation and emits
    /// trainRequested; shows the backend's error and returns false when it cannot.
    bool trainWithAllocation();

    QString summaryText() const;
    /// The backend's error about the frontier or the allocation's spec, as shown; empty when
    /// none.
    QString errorText() const;
    /// "Budget 135.2 kB · chosen 131.9 kB" and the rest of the budget line, as plain text.
    QString budgetText() const;
    bool isEmptyStateVisible() const;
    QString emptyTitle() const;
    bool isProgressVisible() const;

    QPushButton* analyseButton() const { return m_analyse; }
    QPushButton* cancelButton() const { return m_cancel; }
    QSpinBox* samplesSpin() const { return m_samples; }
    QSpinBox* traceSamplesSpin() const { return m_traceSamples; }
    QComboBox* modeCombo() const { return m_mode; }
    QComboBox* reportCombo() const { return m_reports; }
    LayerTraceChart* traceChart() const { return m_traceChart; }
    OmegaChart* omegaChart() const { return m_omegaChart; }
    ParetoPlot* paretoPlot() const { return m_pareto; }
    QSlider* budgetSlider() const { return m_budgetSlider; }
    QTableWidget* allocationTable() const { return m_table; }
    QPushButton* trainButton() const { return m_train; }

Q_SIGNALS:
    /// Train this spec (the chosen allocation, from the report's checkpoint).
    void trainRequested(const QJsonObject& spec);
    /// Something the user should see in the notification bar.
    void errorOccurred(const QString& message);

private:
    QWidget* buildAllocationPage();
    void updateFromModel();
    void fillReports();
    void updateActions();
    void updateStack();
    void showError(const QString& text);
    /// Shows the chosen frontier point's allocation in the table, the Omega chart and the hub.
    void applyChoice();
    void onAnalyse();
    void onCancel();
    void onReportChosen(int index);
    void onSliderMoved(int position);
    void onHessianAnalyzed(const HessianSummary& summary);
    void onAnalysisProgress(const QString& phase, double fraction);
    void onAnalysisEnded();
    const HessianSummary* report(qint64 id) const;
    /// Slider position of a budget, and the budget of a position, over the frontier's sizes.
    int sliderPosition(double bytes) const;
    double sliderBytes(int position) const;

    ActiveRunData* m_data;
    SelectionHub* m_hub;
    RunBackend* m_backend;
    AnalysisControls* m_controls = nullptr;

    qint64 m_reportId = 0;
    bool m_analysing = false;
    ParetoFrontier m_frontier;
    double m_budget = 0.0;
    double m_minSize = 0.0;
    double m_maxSize = 0.0;
    Page m_page = Page::Traces;

    QPushButton* m_analyse;
    QPushButton* m_cancel;
    QSpinBox* m_samples;
    QSpinBox* m_traceSamples;
    QComboBox* m_mode;
    QComboBox* m_reports;
    QButtonGroup* m_pageButtons;
    QProgressBar* m_progress;
    QLabel* m_summary;
    QLabel* m_error;
    QStackedWidget* m_stack;
    EmptyStateWidget* m_empty;
    QStackedWidget* m_pages;
    LayerTraceChart* m_traceChart;
    OmegaChart* m_omegaChart;
    ParetoPlot* m_pareto;
    QSlider* m_budgetSlider;
    QLabel* m_budgetLabel;
    QTableWidget* m_table;
    QLabel* m_tableCaption;
    QPushButton* m_train;
};

}  // namespace qs::ui
