// The sharpness figures of the shown run (ALGORITHMS.md section 6) as a small table, newest
// measurement last, with the "Measure sharpness" button and the progress of a measurement that
// is under way. A view only: the dashboard feeds it from ActiveRunData.
#pragma once

#include "visualization/ViewData.h"

#include <QWidget>

class QAction;
class QLabel;
class QProgressBar;
class QTableWidget;
class QToolButton;

namespace qs::ui {

class SharpnessPanel : public QWidget {
    Q_OBJECT
public:
    enum Column { Measure, Mode, Radius, Value, BaseLoss, PerturbedLoss, Samples, ColumnCount };

    explicit SharpnessPanel(QWidget* parent = nullptr);

    /// The button under the caption triggers this action (AnalysisControls' measure action).
    void setMeasureAction(QAction* action);
    /// Replaces the table's rows.
    void setFigures(const QVector<SharpnessPoint>& figures);
    /// Shows a measurement's phase and fraction done; clearProgress() hides it.
    void setProgress(const QString& phase, double fraction);
    void clearProgress();

    QTableWidget* table() const { return m_table; }
    QString captionText() const;
    bool isProgressVisible() const;

    /// A figure's value as the table shows it ("0.0421", "1.37 %" for epsilon-sharpness).
    static QString valueText(const SharpnessPoint& figure);

private:
    QLabel* m_caption;
    QToolButton* m_measure;
    QProgressBar* m_progress;
    QTableWidget* m_table;
};

}  // namespace qs::ui
