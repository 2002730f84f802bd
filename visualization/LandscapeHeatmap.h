// LandscapeHeatmap: a loss landscape seen from above, as a 2D colour map with contour lines. The
// same colour map and options (log scale, clamp) as the 3D view; pending points are left as
// background and fill in as they arrive; a click on a finished cell emits pointPicked() like the
// 3D view does. 1D landscapes belong in LandscapeCurves and show the empty state here.
#pragma once

#include "visualization/LandscapeData.h"
#include "visualization/PlotWidget.h"

#include <QVector>

#include <limits>

class QCPColorMap;
class QCPColorScale;
class QCPCurve;

namespace qs::ui {

class LandscapeHeatmap : public PlotWidget {
    Q_OBJECT
public:
    explicit LandscapeHeatmap(QWidget* parent = nullptr);
    ~LandscapeHeatmap() override;

    /// Shows `surface`; a 1D or invalid surface shows the empty state.
    void setSurface(const LandscapeSurface& surface);
    void clear();
    /// Writes finished points of the shown landscape (same id) and queues one replot.
    void applyPoints(const LandscapePoints& points);
    const LandscapeSurface& surface() const { return m_surface; }

    void setLogScale(bool on);
    bool logScale() const { return m_display.logScale; }
    /// Losses above `maxLoss` are drawn at `maxLoss`; infinity turns it off.
    void setClampMax(double maxLoss);
    double clampMax() const { return m_display.clampMax; }
    void setContoursVisible(bool on);
    bool contoursVisible() const { return m_contoursVisible; }
    /// Number of contour levels, spread evenly over the shown range (default 12).
    void setContourCount(int count);
    /// Pins the colour scale and the contour levels to [lossMin, lossMax], e.g. to the union of
    /// two heatmaps' landscapes shown side by side, so that one colour means one loss in both.
    /// NaN for either bound returns to this heatmap's own range.
    void setSharedRange(double lossMin, double lossMax);
    /// The range of the shown losses (or the shared range): what the colour scale spans.
    LandscapeRange range() const;

    /// The value drawn in cell (ix, iy): the shown (clamped) loss, NaN while pending.
    double cellValue(int ix, int iy) const;
    /// Number of contour polylines drawn (a level may need several).
    int contourLineCount() const { return m_contourCurves.size(); }
    /// True when the colour scale is logarithmic (log scale on).
    bool isColorScaleLogarithmic() const;

Q_SIGNALS:
    /// A finished cell was clicked: its indices, coordinates, loss and accuracy.
    void pointPicked(int ix, int iy, double alpha, double beta, double loss, double accuracy);

protected:
    bool hasData() const override;
    void fitRanges() override;
    void plotClicked(const QPoint& pos) override;

private:
    bool drawable() const { return m_surface.isValid() && !m_surface.isCurve(); }
    /// Rewrites cells, colour range and contours from the surface and options; queues a replot.
    void rebuild();
    void rebuildContours(const LandscapeRange& range);

    LandscapeSurface m_surface;
    LandscapeDisplay m_display;
    double m_sharedMin = std::numeric_limits<double>::quiet_NaN();
    double m_sharedMax = std::numeric_limits<double>::quiet_NaN();
    bool m_contoursVisible = true;
    int m_contourCount = 12;
    QCPColorMap* m_map = nullptr;
    QCPColorScale* m_scale = nullptr;
    QVector<QCPCurve*> m_contourCurves;
};

}  // namespace qs::ui
