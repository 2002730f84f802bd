// WeightHistogramPlot: the distribution of one layer's latent weights with the quantization grid
// over it. A thin vertical line at every grid point k * step for k in [-qn, qp], the clip range
// [-qn * step, qp * step] shaded, its ends drawn stronger; float layers show the histogram alone.
#pragma once

#include "visualization/PlotWidget.h"
#include "visualization/ViewData.h"

#include <QList>

class QCPGraph;
class QCPItemLine;
class QCPItemRect;
class QCPTextElement;

namespace qs::ui {

class WeightHistogramPlot : public PlotWidget {
    Q_OBJECT
public:
    /// Grids with more points than this (above 10 bits) would be a solid wash of sub-pixel
    /// lines: only the shaded clip range is drawn then.
    static constexpr int kMaxGridLines = 1024;

    explicit WeightHistogramPlot(QWidget* parent = nullptr);
    ~WeightHistogramPlot() override;

    /// Shows this histogram (an empty `counts` or lo >= hi counts as no data).
    void setHistogram(const WeightHistogram& histogram);
    void clear();

    /// "<layer> at step N, W<bits>" ("..., float" for a float layer); empty without data.
    QString title() const;
    /// The grid's numbers under the title: step size, code range, clip range.
    QString subtitle() const;
    /// The number of grid lines drawn: qn + qp + 1 for a quantized layer, 0 for a float one.
    int gridLineCount() const { return static_cast<int>(m_gridLines.size()); }

protected:
    bool hasData() const override;
    void fitRanges() override;

private:
    void removeGrid();
    void buildGrid();

    WeightHistogram m_histogram;
    QCPGraph* m_graph = nullptr;
    QCPTextElement* m_title = nullptr;
    QCPItemRect* m_clipRange = nullptr;
    QCPTextElement* m_subtitle = nullptr;
    QList<QCPItemLine*> m_gridLines;
};

}  // namespace qs::ui
