// The one place where the shared selection lives (ParaView's "active objects"): the run the
// views show, the layer they highlight, and the runs picked for comparison. Panels observe it and
// write to it; they never talk to each other directly (STYLE.md 7).
#pragma once

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

public Q_SLOTS:
    /// Each setter emits its signal only when the value actually changes.
    void setActiveRun(qint64 runId);
    void setActiveLayer(const QString& layer);
    void setSelectedRuns(const QVector<qint64>& runIds);

Q_SIGNALS:
    void activeRunChanged(qint64 runId);
    void activeLayerChanged(const QString& layer);
    void selectedRunsChanged(const QVector<qint64>& runIds);

private:
    qint64 m_activeRun = 0;
    QString m_activeLayer;
    QVector<qint64> m_selectedRuns;
};

}  // namespace qs::ui
