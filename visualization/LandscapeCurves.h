// LandscapeCurves: 1D loss landscapes (ny == 1: a random direction, or the interpolation between
// two checkpoints) as curves against alpha, several overlaid (e.g. LSQ against SQuAT on the same
// direction). Loss on the left axis in each landscape's colour, accuracy on the right axis in a
// lighter, dashed tone of it; pending points are gaps that fill in as points arrive.
#pragma once

#include "visualization/LandscapeData.h"
#include "visualization/PlotWidget.h"

#include <QList>
#include <QMap>

class QCPGraph;

namespace qs::ui {

class LandscapeCurves : public PlotWidget {
    Q_OBJECT
public:
    explicit LandscapeCurves(QWidget* parent = nullptr);
    ~LandscapeCurves() override;

    /// Adds a 1D landscape, or replaces the one with the same id; 2D ones are ignored (they
    /// belong in LandscapeView and LandscapeHeatmap).
    void addSurface(const LandscapeSurface& surface);
    void removeSurface(qint64 id);
    void clear();
    /// Writes finished points into the landscape with the same id and queues one replot.
    void applyPoints(const LandscapePoints& points);
    /// The landscapes shown, in the order they were added.
    QList<qint64> surfaceIds() const { return m_order; }

    /// Loss axis in log scale.
    void setLogScale(bool on);
    bool logScale() const { return m_logScale; }

protected:
    bool hasData() const override;
    void fitRanges() override;

private:
    struct Curve {
        LandscapeSurface surface;
        int colorIndex = 0;
        QCPGraph* loss = nullptr;
        QCPGraph* accuracy = nullptr;
    };

    void fillGraphs(const Curve& curve);
    int freeColorIndex() const;

    QMap<qint64, Curve> m_curves;
    QList<qint64> m_order;
    bool m_logScale = false;
};

}  // namespace qs::ui
