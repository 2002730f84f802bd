// TrainingCurvesPlot: loss (left axis) and accuracy (right axis, in percent) against the global
// step, for one or several runs overlaid. Each run has its own colour (loss in the full tone,
// accuracy in a lighter tone of it); train series are solid lines, eval series dashed with a
// marker per evaluation.
#pragma once

#include "visualization/PlotWidget.h"
#include "visualization/ViewData.h"

#include <QList>
#include <QMap>
#include <QString>
#include <QVector>

#include <array>
#include <limits>

class QCPGraph;

namespace qs::ui {

class TrainingCurvesPlot : public PlotWidget {
    Q_OBJECT
public:
    explicit TrainingCurvesPlot(QWidget* parent = nullptr);
    ~TrainingCurvesPlot() override;

    /// Removes every run and resumes automatic ranges.
    void clear();
    /// Appends the points of "train/loss", "eval/loss", "train/acc" and "eval/acc" to the run's
    /// series, creating the run and its series on first use; other keys are ignored, and so
    /// are non-finite values (a diverged loss would otherwise flatten the axis). Cost is linear
    /// in the number of points given, not in the data already shown. `runLabel` names the run
    /// in the legend (a changed label renames it).
    void addPoints(qint64 runId, const QString& runLabel, const QVector<MetricPoint>& points);
    /// Removes one run's series; its colour becomes free for the next run.
    void removeRun(qint64 runId);
    /// The runs shown, in the order they were added.
    QList<qint64> runIds() const { return m_order; }

protected:
    bool hasData() const override;
    void fitRanges() override;

private:
    enum Series { TrainLoss, EvalLoss, TrainAcc, EvalAcc, SeriesCount };
    /// Running bounds, so that fitting the axes never scans the data (rescale() after every
    /// burst stays O(runs)).
    struct Extent {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        bool valid() const { return lo <= hi; }
        void add(double value);
        void add(const Extent& other);
    };
    struct Run {
        QString label;
        int colorIndex = 0;
        std::array<QCPGraph*, SeriesCount> graphs{};
        Extent steps;
        Extent loss;
        Extent acc;
    };

    static int seriesFor(const QString& key);
    QCPGraph* createGraph(int colorIndex, Series series);
    void nameGraphs(const Run& run);
    void rebuildLegend();
    int freeColorIndex() const;

    QMap<qint64, Run> m_runs;
    QList<qint64> m_order;
};

}  // namespace qs::ui
