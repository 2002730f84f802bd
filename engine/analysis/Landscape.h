// Loss landscapes of a stored checkpoint (ALGORITHMS.md section 7, Li et al. 2018): the mean loss
// and accuracy on a fixed data subset at w + a dx + b dy over a grid of (a, b), for random
// filter-normalised directions, the top Hessian eigenvectors, or the line to a second checkpoint.
// Points are computed coarse to fine, streamed in batches, and written to the run store as they
// finish, so an unfinished landscape resumes where it stopped. Public and torch-free: the CLI,
// the trainer's snapshots and the GUI bridge call it; the work runs on the calling thread (and,
// for the "points" strategy, on worker threads it owns and joins).
#pragma once

#include "engine/store/RunStore.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace qs::analysis {

/// What a landscape computes. Everything here is stored with it (options_json), so a resume
/// recomputes the same directions on the same subset.
struct LandscapeOptions {
    /// "random" (seeded Gaussian directions, rescaled per filter to the weights' filter norms),
    /// "hessian" (the top-2 Hessian eigenvectors) or "interpolation" (1D, towards
    /// otherCheckpoint: w + a (w2 - w)).
    std::string directions = "random";
    uint64_t seed = 123;          ///< seed of the random directions and of the evaluation subset
    std::string otherCheckpoint;  ///< interpolation: the second checkpoint (same architecture)
    int nx = 51;                  ///< grid points along x (>= 1)
    int ny = 51;                  ///< grid points along y; 1: a 1D curve (b = 0)
    double xMin = -1.0;
    double xMax = 1.0;
    double yMin = -1.0;  ///< ignored (stored as 0) for a 1D curve
    double yMax = 1.0;
    /// "float", "dequantized" or "quantize-after" (see AnalysisModel.h); empty: float for a float
    /// model, dequantized for a quantized one. The directions do not depend on the mode: they
    /// are scaled to the latent (float) weights, so every mode of a checkpoint shares them.
    std::string mode;
    int64_t samples = 2000;  ///< images in the fixed, seeded evaluation subset
    bool testSplit = false;  ///< the subset comes from the test split (default: training split)
    int batchSize = 500;     ///< images per forward pass
    std::string dataPath;    ///< overrides the spec's dataset folder when set
};

/// How a landscape is computed; not part of what is stored.
struct LandscapeExecution {
    int threads = 0;  ///< 0: all cores
    /// "points" (one model copy per thread, one intra-op thread each, points in parallel),
    /// "intra-op" (one model, every thread inside each operation) or "auto" (the faster one on
    /// this machine class, measured: points; see pointsParallel in Landscape.cpp).
    std::string parallel = "auto";
    double flushSeconds = 2.0;  ///< finished points are written to the store at least this often
};

/// A landscape as stored: the run-store row (loss and accuracy ny x nx, x fastest, NaN pending).
using LandscapeSurface = store::LandscapeRow;

/// One finished grid point.
struct LandscapePoint {
    int ix = 0;
    int iy = 0;
    double loss = 0.0;
    double accuracy = 0.0;
};

/// A batch of finished points (one grid row of one pass) and the fraction of the grid done.
struct LandscapePoints {
    int64_t id = 0;  ///< store id (0 without a store)
    std::vector<LandscapePoint> points;
    double fraction = 0.0;
};

using LandscapeCallback = std::function<void(const LandscapePoints&)>;

/// The order points are computed in: batches of flat indices (iy * nx + ix). First the coarse
/// grid (ix and iy multiples of 4), one batch per coarse row; then the remaining points, one
/// batch per row.
std::vector<std::vector<int64_t>> landscapeBatches(int nx, int ny);

/// x of column ix and y of row iy of a surface (evenly spaced, ends included).
double gridX(const LandscapeSurface& s, int ix);
double gridY(const LandscapeSurface& s, int iy);

/// Computes a landscape of the checkpoint (model rebuilt from its own spec). With a store, the
/// row is created at once (status "running", every point pending), finished points are written
/// back at least every flushSeconds, and the status ends "finished" or "cancelled"; runId > 0
/// attaches it to that run. onPoints (optional) gets each finished batch on the calling thread.
/// When *cancel becomes true the computation stops after the points in progress and returns
/// with status "cancelled" (resumable). Throws std::invalid_argument for bad options and
/// std::runtime_error naming the file for a checkpoint that cannot be used.
///
/// Example:
///   qs::analysis::LandscapeOptions o;
///   o.nx = o.ny = 21;
///   auto store = qs::store::RunStore::open("runs.sqlite");
///   auto surface = qs::analysis::computeLandscape("run-1/last.safetensors", o, store.get());
///   qs::analysis::writeVtp(surface, "landscape.vtp");
LandscapeSurface computeLandscape(const std::string& checkpoint, const LandscapeOptions& options,
                                  store::RunStore* store = nullptr, int64_t runId = 0,
                                  const LandscapeExecution& execution = {},
                                  const LandscapeCallback& onPoints = {},
                                  const std::atomic<bool>* cancel = nullptr);

/// Continues an unfinished stored landscape: the same directions (its stored options and
/// checkpoint), only its pending points. Throws std::invalid_argument for an unknown id or a
/// finished landscape.
LandscapeSurface resumeLandscape(store::RunStore& store, int64_t id,
                                 const LandscapeExecution& execution = {},
                                 const LandscapeCallback& onPoints = {},
                                 const std::atomic<bool>* cancel = nullptr);

/// The options a stored landscape was computed with (its options_json). Throws
/// std::invalid_argument naming the landscape when they cannot be read.
LandscapeOptions storedLandscapeOptions(const LandscapeSurface& surface);

/// Writes the surface as VTK XML PolyData (ASCII .vtp, for ParaView): points (x, y, loss), quads
/// for a 2D grid or one polyline for a 1D curve, point data "loss" and "accuracy". Only a
/// complete surface is written: pending points have no height, so an unfinished landscape is
/// refused with std::invalid_argument (resume it first). Throws std::runtime_error naming the
/// file when it cannot be written.
void writeVtp(const LandscapeSurface& surface, const std::string& path);

}  // namespace qs::analysis
