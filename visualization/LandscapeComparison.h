// LandscapeComparison: two loss landscapes computed on the same directions (float against
// quantized, SQuAT against LSQ), either side by side with linked cameras and one shared loss
// scale, or overlaid in one view. A small bar above switches the mode and sets the options both
// views share (log scale, contours, camera reset).
#pragma once

#include "visualization/LandscapeData.h"

#include <QWidget>

class QButtonGroup;
class QCheckBox;
class QLabel;

namespace qs::ui {

class LandscapeView;

class LandscapeComparison : public QWidget {
    Q_OBJECT
public:
    enum class Mode {
        SideBySide,  ///< two views, cameras linked, one loss scale
        Overlaid,    ///< one view, the second surface semi-transparent over the first
    };

    explicit LandscapeComparison(QWidget* parent = nullptr);
    ~LandscapeComparison() override;

    /// Shows `first` and `second` (2D landscapes on the same directions).
    void setSurfaces(const LandscapeSurface& first, const LandscapeSurface& second);
    /// Writes finished points into whichever landscape has their id.
    void applyPoints(const LandscapePoints& points);

    void setMode(Mode mode);
    Mode mode() const { return m_mode; }
    /// The left (0) and right (1) views; in overlaid mode view 0 shows both surfaces.
    LandscapeView* view(int index) const;

private:
    /// Puts the surfaces into the views for the current mode.
    void updateViews();
    void updateSharedRange();

    LandscapeSurface m_first;
    LandscapeSurface m_second;
    Mode m_mode = Mode::SideBySide;
    LandscapeView* m_views[2] = {nullptr, nullptr};
    /// Which surface each side shows (side by side only; the overlay has its own legend).
    QLabel* m_captions[2] = {nullptr, nullptr};
    QButtonGroup* m_modeButtons = nullptr;
    QCheckBox* m_log = nullptr;
    QCheckBox* m_contours = nullptr;
};

}  // namespace qs::ui
