// The observer that records a run's events in the run store (one transaction per batch).
#pragma once

#include "engine/session/Events.h"
#include "engine/store/RunStore.h"

namespace qs::session {

class RunRecorder : public Observer {
public:
    RunRecorder(store::RunStore& store, int64_t runId) : m_store(store), m_runId(runId) {}
    void onEvents(const EventBatch& batch) override;

private:
    store::RunStore& m_store;
    int64_t m_runId;
    std::string m_phase;
};

}  // namespace qs::session
