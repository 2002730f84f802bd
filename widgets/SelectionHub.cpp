#include "widgets/SelectionHub.h"

namespace qs::ui {

SelectionHub::SelectionHub(QObject* parent) : QObject(parent) {}

void SelectionHub::setActiveRun(qint64 runId) {
    if (runId == m_activeRun) {
        return;
    }
    m_activeRun = runId;
    Q_EMIT activeRunChanged(runId);
}

void SelectionHub::setActiveLayer(const QString& layer) {
    if (layer == m_activeLayer) {
        return;
    }
    m_activeLayer = layer;
    Q_EMIT activeLayerChanged(layer);
}

void SelectionHub::setSelectedRuns(const QVector<qint64>& runIds) {
    if (runIds == m_selectedRuns) {
        return;
    }
    m_selectedRuns = runIds;
    Q_EMIT selectedRunsChanged(runIds);
}

void SelectionHub::setPlannedAllocation(const QMap<QString, int>& bits) {
    if (bits == m_plannedAllocation) {
        return;
    }
    m_plannedAllocation = bits;
    Q_EMIT plannedAllocationChanged(bits);
}

}  // namespace qs::ui
