// Conversions from the engine's plain structs (session events, store rows) to the Qt value types
// of visualization/ViewData.h. Pure functions: callable on any thread.
#pragma once

#include "engine/analysis/Landscape.h"
#include "engine/analysis/Sharpness.h"
#include "engine/session/Events.h"
#include "engine/store/RunStore.h"
#include "visualization/LandscapeData.h"
#include "visualization/SensitivityData.h"
#include "visualization/ViewData.h"

#include <map>
#include <string>
#include <vector>

namespace qs::app {

QString toQString(const std::string& text);
QMap<QString, double> toQMap(const std::map<std::string, double>& values);

/// One point per value of the step metrics, in key order.
void appendMetricPoints(const session::StepMetrics& metrics, QVector<ui::MetricPoint>& out);
/// "eval/loss", "eval/acc" and "epoch" at the eval's step: the keys the run recorder stores, so
/// a live chart and a reloaded run show the same series.
void appendMetricPoints(const session::EpochEval& eval, QVector<ui::MetricPoint>& out);

ui::LayerRow toLayerRow(const session::LayerState& state);
ui::LayerSnapshot toLayerSnapshot(int64_t runId, const session::LayerStates& states);
ui::WeightHistogram toWeightHistogram(int64_t runId, const session::WeightHistogram& histogram);
ui::JobProgress toJobProgress(int64_t runId, const session::Progress& progress);
/// Stamped with the time of the conversion (the engine's log lines carry no time).
ui::LogEntry toLogEntry(const session::LogLine& line);
ui::RunEnd toRunEnd(const session::Finished& finished);

/// A measured sharpness figure; `step` is the checkpoint's training step.
ui::SharpnessPoint toSharpnessPoint(const analysis::SharpnessFigure& figure, int64_t step);
/// A stored sharpness row.
ui::SharpnessPoint toSharpnessPoint(const store::SharpnessRow& row);

/// A stored landscape (NaN for pending points). `runName` names it in the label: "<run name> ·
/// step N"; empty for a loose checkpoint (the file name is used).
ui::LandscapeSurface toLandscapeSurface(const store::LandscapeRow& row, const QString& runName);
/// Finished points of one landscape.
ui::LandscapePoints toLandscapePoints(const analysis::LandscapePoints& points);
/// A stored Hessian report with its per-layer figures.
ui::HessianSummary toHessianSummary(const store::HessianRow& row);
/// A stored run as a browser row. The spec JSON gives method, bits, arch and dataset; a spec
/// that no longer parses leaves those empty rather than hiding the run.
ui::RunSummary toRunSummary(const store::RunRecord& record);

/// Groups store rows (ordered by step) into one snapshot per step. `planned` (the spec's layers
/// in forward order, may be empty) fills weight shapes and parameter counts, which the store
/// does not keep, and orders each snapshot's rows as the model runs them; layers it does not
/// know keep the store's order after the known ones.
QVector<ui::LayerSnapshot> toLayerHistory(int64_t runId,
                                          const std::vector<store::LayerStateRow>& rows,
                                          const std::vector<session::LayerState>& planned);

}  // namespace qs::app
