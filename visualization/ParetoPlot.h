// ParetoPlot: the mixed-precision Pareto frontier (ALGORITHMS.md section 5), model size against
// total sensitivity sum_i Omega_i(b_i) on a log axis, as a step line with markers: the best Omega
// reachable under a budget holds from one frontier point's size to the next. The uniform
// allocations (every layer at 2, 3, 4 or 8 bits) are labelled reference points. A vertical line
// marks the size budget and a ring the frontier point chosen for it.
#pragma once

#include "visualization/LogAxisFit.h"
#include "visualization/PlotWidget.h"
#include "visualization/SensitivityData.h"

#include <QList>
#include <QString>

class QCPGraph;
class QCPItemLine;
class QCPItemText;

namespace qs::ui {

class ParetoPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit ParetoPlot(QWidget* parent = nullptr);
    ~ParetoPlot() override;

    /// Replaces the frontier; its points are kept sorted by size (ties by Omega), and every
    /// index this plot reports refers to frontier().points. Keeps the budget and chooses again.
    void setFrontier(const ParetoFrontier& frontier);
    const ParetoFrontier& frontier() const { return m_frontier; }

    /// Moves the budget line to `bytes` and chooses the frontier point with the largest size
    /// at most `bytes`; zero, negative or NaN removes the budget.
    void setBudget(double bytes);
    /// The budget in bytes; 0 without one.
    double budget() const { return m_budget; }
    /// Index of the point chosen for the budget; -1 without a budget or when every point is
    /// larger than it.
    int chosenIndex() const { return m_chosen; }

    /// The unit of the size axis ("B", "kB" or "MB", decimal) and its bytes.
    QString sizeUnit() const;
    double unitBytes() const { return m_unitBytes; }

Q_SIGNALS:
    /// The user clicked a frontier point (nearest marker within a few pixels). The plot does
    /// not move the budget by itself: the owner decides, e.g. setBudget(points[index].size).
    void pointChosen(int index);

protected:
    bool hasData() const override;
    void fitRanges() override;
    void plotClicked(const QPoint& pos) override;

private:
    int frontierPointAt(const QPoint& pos) const;
    /// Pixel distance from `pos` to where a point of that size and Omega is drawn.
    double pixelDistance(const QPoint& pos, double sizeBytes, double omega) const;
    void showToolTip(const QPoint& pos);
    void updateChoice();
    QString sizeText(double bytes) const;
    QString pointText(const FrontierPoint& point) const;

    ParetoFrontier m_frontier;
    double m_budget = 0.0;
    int m_chosen = -1;
    double m_unitBytes = 1000.0;
    LogAxisFit m_fit;
    QCPGraph* m_line = nullptr;
    QCPGraph* m_uniform = nullptr;
    QCPGraph* m_chosenMark = nullptr;
    QCPGraph* m_clamped = nullptr;
    QCPItemLine* m_budgetLine = nullptr;
    QCPItemText* m_budgetLabel = nullptr;
    QList<QCPItemText*> m_uniformLabels;
};

}  // namespace qs::ui
