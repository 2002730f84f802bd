// PlotWidget: what every Quantscape chart shares. A QCustomPlot inside, styled from PlotStyle;
// drag to pan, wheel to zoom; a context menu with "Reset view" and PNG/PDF export; a centred
// empty-state message while there is no data; and redraws coalesced into one queued replot per
// event-loop pass, so a burst of updates costs one repaint (STYLE.md 8).
//
// The header does not include <qcustomplot.h>: that header uses the `signals` and `foreach`
// keywords, which code compiled with QT_NO_KEYWORDS (all tests) cannot see.
#pragma once

#include <QPoint>
#include <QString>
#include <QWidget>

class QCustomPlot;
class QCPAxis;
class QCPItemText;
class QCPLayoutGrid;
class QMouseEvent;
class QWheelEvent;

namespace qs::ui {

class PlotWidget : public QWidget {
    Q_OBJECT
public:
    explicit PlotWidget(QWidget* parent = nullptr);
    ~PlotWidget() override;

    /// The message shown centred in the plot while it has no data ("No run selected").
    void setEmptyText(const QString& text);
    QString emptyText() const;
    /// True while the plot has no data and shows the empty-state message.
    bool isEmptyStateVisible() const;

    /// Fits the axes to the data now, unless the user has panned or zoomed since the last reset.
    void rescale();
    /// Fits the axes to the data and resumes automatic fitting: the "Reset view" action.
    void resetView();
    /// False once the user has dragged or wheel-zoomed the plot; true again after resetView().
    bool isAutoRangeEnabled() const { return m_autoRange; }

    /// Renders the plot at `width` x `height` pixels into a PNG file; false if it failed.
    bool savePng(const QString& fileName, int width, int height);
    /// Writes the plot as vector PDF, `width` x `height` in points (0: the widget's size).
    bool savePdf(const QString& fileName, int width, int height);

    /// The QCustomPlot drawn in: for tests and for rare additions by the owner.
    QCustomPlot* customPlot() const { return m_plot; }

protected:
    /// Whether there is anything to draw; false shows the empty-state message.
    virtual bool hasData() const = 0;
    /// Sets the axis ranges to show all data (called by rescale(), resetView() and, while
    /// automatic, once before each replot that follows a dataChanged()).
    virtual void fitRanges() = 0;
    /// A left click inside the plot (press and release without dragging), in widget pixels.
    virtual void plotClicked(const QPoint& pos) {}

    /// To be called after the data changed: refreshes the empty state and queues one replot,
    /// refitting the axes first while automatic. Cheap: many calls cost one replot.
    void dataChanged();
    /// Queues a repaint for the next event-loop pass (coalesced).
    void requestReplot();
    /// Resumes automatic fitting without replotting (e.g. the plot was cleared).
    void enableAutoRange() { m_autoRange = true; }

    /// Fonts, colours and ticks of an axis in the house style.
    void styleAxis(QCPAxis* axis) const;
    /// Tick labels of an axis holding fractions in [0, 1] shown as percent ("25%").
    static void setPercentTicks(QCPAxis* axis);
    /// A logarithmic axis with enough ticks also over short ranges (1-2-5 per decade).
    static void setLogTicks(QCPAxis* axis);
    /// Shows the legend in a strip above the axis rect, `columns` entries per row, or takes it
    /// out of the layout (so it costs no space) when `shown` is false.
    void setLegendAbove(bool shown, int columns);

private:
    void onMousePress(QMouseEvent* event);
    void onMouseMove(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    void onMouseWheel(QWheelEvent* event);
    void showContextMenu(const QPoint& pos);
    void saveWithDialog(bool pdf);
    void prepareForExport();
    void updateEmptyState();
    void applyPendingFit();

    QCustomPlot* m_plot = nullptr;
    QCPItemText* m_emptyItem = nullptr;
    QCPLayoutGrid* m_legendRow = nullptr;  ///< created on first use; owned by the plot
    bool m_autoRange = true;
    bool m_fitPending = false;
    bool m_pressed = false;
    bool m_dragged = false;
    QPoint m_pressPos;
};

}  // namespace qs::ui
