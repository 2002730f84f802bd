// The one place where the shared selection lives (ParaView's "active objects"): the run the
// views show, the layer they highlight, the runs picked for comparison, and the bit allocation
// picked for the active run in the sensitivity tab. Panels observe it and write to it; they never
// talk to each other directly (STYLE.md 7).
#pragma once

#include <QMap>
#include <QObject>
#include <QString>
#include <QVector>

namespace qs::ui {

class SelectionHub : public QObject {
    Q_OBJECT
public:
    explicit SelectionHub(QObject* parent = nullptr);

    /// The run every view shows; 0 = none.
    qint64 activeRun() const { return m_activeRun; }
    /// Parameter path of the highlighted layer ("layer1.0.conv1"); empty = none.
    QString activeLayer() const { return m_activeLayer; }
    /// Runs picked for comparison, in the order they were picked.
    QVector<qint64> selectedRuns() const { return m_selectedRuns; }
    /// Weight bits per layer (parameter path -> bits, 0 = float) of the allocation chosen for
    /// the active run from its Hessian sensitivities; empty = none chosen.
    QMap<QString, int> plannedAllocation() const { return m_plannedAllocation; }

public Q_SLOTS:
    /// Each setter emits its signal only when the value actually changes.
    void setActiveRun(qint64 runId);
    void setActiveLayer(const QString& layer);
    void setSelectedRuns(const QVector<qint64>& runIds);
    void setPlannedAllocation(const QMap<QString, int>& bits);

Q_SIGNALS:
    void activeRunChanged(qint64 runId);
    void activeLayerChanged(const QString& layer);
    void selectedRunsChanged(const QVector<qint64>& runIds);
    void plannedAllocationChanged(const QMap<QString, int>& bits);

private:
    qint64 m_activeRun = 0;
    QString m_activeLayer;
    QVector<qint64> m_selectedRuns;
    QMap<QString, int> m_plannedAllocation;
};

}  // namespace qs::ui
