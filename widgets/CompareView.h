// Runs side by side: the hub's selected runs with their training curves overlaid, their final
// metrics (accuracy, loss, measured sharpness) in a small table with a column per run, and a
// per-layer table whose column groups (bits, weight step, weight error) belong one to each run,
// under a header naming the run.
#pragma once

#include "visualization/ViewData.h"

#include <QWidget>

class QLabel;
class QStackedWidget;
class QTableWidget;

namespace qs::ui {

class EmptyStateWidget;
class GroupHeader;
class RunBackend;
class SelectionHub;
class TrainingCurvesPlot;

class CompareView : public QWidget {
    Q_OBJECT
public:
    /// Columns per run in the layer table.
    static constexpr int kColumnsPerRun = 3;

    CompareView(RunBackend* backend, SelectionHub* hub, QWidget* parent = nullptr);

    /// The runs shown now, in the hub's order.
    QVector<qint64> shownRuns() const;
    QTableWidget* layerTable() const { return m_table; }
    /// One row per final metric any shown run has ("eval/acc", "sharpness/rho-ball/float"), one
    /// column per run after the metric's name.
    QTableWidget* metricsTable() const { return m_metrics; }
    /// A final metric's value as the table shows it ("90.12 %", "0.0421").
    static QString metricText(const QString& key, double value);
    TrainingCurvesPlot* curvesPlot() const { return m_curves; }
    /// The group header's title of a run's column group ("#12 lsq-w4a4 · 91.2 %").
    QString groupTitle(int runIndex) const;
    bool isEmptyState() const;

public Q_SLOTS:
    void updateFromModel();

private:
    RunBackend* m_backend;
    SelectionHub* m_hub;
    QVector<RunData> m_runs;
    QStackedWidget* m_stack;
    EmptyStateWidget* m_empty;
    QLabel* m_caption;
    TrainingCurvesPlot* m_curves;
    QTableWidget* m_table;
    QTableWidget* m_metrics;
    GroupHeader* m_header;

    void updateMetricsTable();
};

}  // namespace qs::ui
