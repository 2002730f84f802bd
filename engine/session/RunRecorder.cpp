#include "engine/session/RunRecorder.h"

#include <cmath>

namespace qs::session {

namespace {

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

void RunRecorder::onEvents(const EventBatch& batch) {
    std::vector<store::MetricRow> metrics;
    std::vector<store::LayerStateRow> layers;
    std::vector<const LandscapeSnapshot*> landscapes;
    const Finished* finished = nullptr;
    for (const Event& event : batch.events) {
        std::visit(Overloaded{
                       [&](const StepMetrics& m) {
                           for (const auto& [key, value] : m.values) {
                               metrics.push_back({m.step, key, value});
                           }
                       },
                       [&](const EpochEval& e) {
                           metrics.push_back({e.step, "eval/loss", e.loss});
                           if (std::isfinite(e.accuracy)) {
                               metrics.push_back({e.step, "eval/acc", e.accuracy});
                           }
                           for (const auto& [name, value] : e.metrics) {
                               metrics.push_back({e.step, "eval/" + name, value});
                           }
                           metrics.push_back({e.step, "epoch", double(e.epoch)});
                       },
                       [&](const LayerStates& s) {
                           for (const LayerState& l : s.layers) {
                               layers.push_back({s.step, l.layer, l.weightBits, l.actBits,
                                                 l.weightSteps, l.actStep, l.weightError,
                                                 l.actError, l.weightClipRate, l.actClipRate});
                           }
                       },
                       [&](const Progress& p) {
                           // Only transitions into and out of a pause change the stored status.
                           if (p.phase == "paused" && m_phase != "paused") {
                               m_store.setStatus(m_runId, store::status::kPaused);
                           } else if (p.phase != "paused" && m_phase == "paused") {
                               m_store.setStatus(m_runId, store::status::kRunning);
                           }
                           m_phase = p.phase;
                       },
                       [&](const Finished& f) { finished = &f; },
                       [](const LogLine&) {},
                       [](const WeightHistogram&) {},  // a view, not part of the record
                       [&](const LandscapeSnapshot& l) { landscapes.push_back(&l); },
                   },
                   event);
    }
    if (!metrics.empty()) {
        m_store.appendMetrics(m_runId, metrics);
    }
    if (!layers.empty()) {
        m_store.appendLayerStates(m_runId, layers);
    }
    for (const LandscapeSnapshot* l : landscapes) {
        store::LandscapeRow row = l->surface;
        row.runId = m_runId;
        m_store.addLandscape(row);
    }
    if (finished) {
        if (!finished->finalMetrics.empty()) {
            m_store.setFinalMetrics(m_runId, finished->finalMetrics);
        }
        m_store.setStatus(m_runId, finished->status, finished->error);
    }
}

}  // namespace qs::session
