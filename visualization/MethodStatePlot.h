// MethodStatePlot: what the training method streams about itself, against the global step,
// beside the loss curves. Only the series a run actually sends appear: SQuAT's loss at the
// perturbed weights (with the clean train loss for reference), its loss gap, gradient and
// perturbation norms and radius; noise tempering's lambda_t; the step-size gradient norm of every
// quantized method; the distillation soft loss. Values (losses, lambda) use the left, linear
// axis; norms and the radius the right, logarithmic one. A float run sends none of these and
// the plot says so.
#pragma once

#include "visualization/PlotWidget.h"
#include "visualization/ViewData.h"

#include <QMap>
#include <QString>
#include <QStringList>
#include <QVector>

#include <limits>

class QCPGraph;

namespace qs::ui {

class MethodStatePlot : public PlotWidget {
    Q_OBJECT
public:
    explicit MethodStatePlot(QWidget* parent = nullptr);
    ~MethodStatePlot() override;

    /// Whether a metric key is method state ("squat/...", "nt/...", "quant/...", "distill/...").
    static bool isMethodKey(const QString& key);
    /// The legend name of a series key ("squat/perturb_norm" -> "‖e‖ perturbation").
    static QString seriesName(const QString& key);
    /// Whether a key's series is drawn on the logarithmic (norm) axis.
    static bool isNormKey(const QString& key);

    /// Removes every series and resumes automatic ranges.
    void clear();
    /// Appends the method-state points (other keys are ignored, except "train/loss", kept as the
    /// clean reference of SQuAT's perturbed loss), creating a series on its first point.
    /// Non-finite values are skipped, and so are values <= 0 of a log-axis series.
    void addPoints(const QVector<MetricPoint>& points);
    /// The keys with a series, in legend order.
    QStringList seriesKeys() const;

protected:
    bool hasData() const override;
    void fitRanges() override;

private:
    struct Extent {
        double lo = std::numeric_limits<double>::infinity();
        double hi = -std::numeric_limits<double>::infinity();
        bool valid() const { return lo <= hi; }
        void add(double value);
    };
    struct Series {
        QCPGraph* graph = nullptr;
        int order = 0;
    };

    QCPGraph* createGraph(const QString& key);
    void addToSeries(const QString& key, const QVector<double>& steps,
                     const QVector<double>& values);
    void updateAxes();

    QMap<QString, Series> m_series;
    /// The clean train loss, kept until (and after) a perturbed loss arrives to compare it with.
    QVector<double> m_cleanSteps;
    QVector<double> m_cleanValues;
    Extent m_steps;
    Extent m_linear;
    Extent m_log;
};

}  // namespace qs::ui
