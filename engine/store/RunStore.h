// The run store: every run, its metrics and per-layer quantizer states in one SQLite file.
// Qt-free and torch-free (sqlite3 C API). WAL mode, foreign keys on, a schema version with
// forward migrations, batched writes in transactions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace qs::store {

/// Any failure of the store: open, schema, locked or corrupt file, bad query. The message names
/// the database file and what went wrong.
class StoreError : public std::runtime_error {
public:
    /// What a caller can do about it: Busy may succeed when retried later; ReadOnly and Full
    /// need the user (permissions, a read-only disk, free space). Other: anything else.
    enum class Kind { Other, Busy, ReadOnly, Full };
    explicit StoreError(const std::string& message, Kind kind = Kind::Other)
        : std::runtime_error(message), m_kind(kind) {}
    explicit StoreError(const char* message, Kind kind = Kind::Other)
        : std::runtime_error(message), m_kind(kind) {}
    Kind kind() const noexcept { return m_kind; }

private:
    Kind m_kind;
};

/// How RunStore::open treats the file.
struct RunStoreOptions {
    /// How long a call waits for the write lock another process (another Quantscape window, a
    /// CLI run) holds before it fails with a StoreError of kind Busy. Long enough to ride out
    /// another writer's largest batch or a first open's migration, short enough that a stuck
    /// process is reported instead of hanging the caller.
    int busyTimeoutMs = 10000;
    /// Test hook: caps the file at this many pages (PRAGMA max_page_count) so that a test gets
    /// SQLite's real "full" error without filling a disk. 0: no cap (SQLite's default).
    int64_t maxPageCount = 0;
};

/// Status strings kept in runs.status.
namespace status {
inline constexpr const char* kQueued = "queued";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kPaused = "paused";
inline constexpr const char* kFinished = "finished";
inline constexpr const char* kFailed = "failed";
inline constexpr const char* kCancelled = "cancelled";
inline constexpr const char* kInterrupted = "interrupted";
}  // namespace status

/// One row of `runs`. Times are ISO-8601 UTC strings ("2026-11-21T23:53:15Z").
struct RunRecord {
    int64_t id = 0;
    std::string name;
    std::string status;
    std::string specJson;
    std::string createdAt;
    std::string updatedAt;
    std::string finishedAt;  ///< empty while running
    std::string host;
    int64_t pid = 0;       ///< process that runs/ran it; used to detect interrupted runs
    std::string versions;  ///< JSON object of library versions
    std::string checkpointDir;
    std::string error;                           ///< last error message for failed runs
    std::map<std::string, double> finalMetrics;  ///< e.g. "eval/acc" -> 0.91
};

/// One scalar metric at a global training step ("train/loss", "eval/acc", ...).
struct MetricRow {
    int64_t step = 0;
    std::string key;
    double value = 0.0;
};

/// One layer's quantizer state at a step. bits == 0 means that slot is float (no quantizer).
struct LayerStateRow {
    int64_t step = 0;
    std::string layer;  ///< parameter path, e.g. "layer1.0.conv1"
    int weightBits = 0;
    int actBits = 0;
    std::vector<double> weightSteps;  ///< one per tensor or per output channel
    double actStep = 0.0;
    double weightError = 0.0;  ///< mean squared quantization error of the weights
    double actError = 0.0;
    double weightClipRate = 0.0;  ///< fraction of elements clipped to -Qn or Qp
    double actClipRate = 0.0;
};

/// One sharpness figure (ALGORITHMS.md section 6) measured on a checkpoint.
struct SharpnessRow {
    int64_t id = 0;
    int64_t runId = 0;  ///< 0: a checkpoint outside any recorded run
    std::string checkpoint;
    int64_t step = 0;     ///< training step of the checkpoint
    std::string measure;  ///< "rho-ball" | "epsilon"
    std::string mode;     ///< "float" | "dequantized" | "quantize-after"
    double radius = 0.0;  ///< rho, or eps for epsilon-sharpness
    double value = 0.0;   ///< rho-ball: max L(w+e) - L(w); epsilon: percent of 1 + L(w)
    double baseLoss = 0.0;
    double perturbedLoss = 0.0;
    int ascentSteps = 0;
    int64_t samples = 0;
    uint64_t seed = 0;
    std::string createdAt;
};

/// One loss landscape (ALGORITHMS.md section 7): losses on a grid around a checkpoint, stored
/// while it is computed so that an unfinished one resumes where it stopped.
struct LandscapeRow {
    int64_t id = 0;
    int64_t runId = 0;  ///< 0: a checkpoint outside any recorded run
    std::string checkpoint;
    int64_t step = 0;              ///< training step of the checkpoint
    std::string kind;              ///< directions: "random" | "hessian" | "interpolation"
    std::string mode;              ///< "float" | "dequantized" | "quantize-after"
    int nx = 0;                    ///< grid points along x
    int ny = 0;                    ///< grid points along y; 1: a 1D curve along x
    double xMin = 0.0;             ///< x of the first column
    double xMax = 0.0;             ///< x of the last column
    double yMin = 0.0;             ///< y of the first row (0 for a 1D curve)
    double yMax = 0.0;             ///< y of the last row (0 for a 1D curve)
    uint64_t seed = 0;             ///< seed of the random directions and the evaluation subset
    int64_t samples = 0;           ///< images in the evaluation subset
    std::string optionsJson;       ///< the options that recompute the same directions (resume)
    std::string status;            ///< status::kRunning, kCancelled, kFinished or kFailed
    std::vector<double> loss;      ///< ny x nx mean losses, x fastest; NaN = not computed yet
    std::vector<double> accuracy;  ///< same layout; NaN = not computed yet
    std::string createdAt;
    std::string updatedAt;
};

/// One quantizable layer of a Hessian report (ALGORITHMS.md section 5).
struct HessianLayerRow {
    std::string layer;   ///< parameter path, e.g. "layer1.0.conv1"
    int64_t params = 0;  ///< weight elements
    int64_t macs = 0;    ///< multiply-accumulates per sample (kept in omega_json as "macs")
    double trace = 0.0;  ///< Tr of the weight's Hessian block; NaN: not computed
    double traceSe = 0.0;
    std::map<int, double> omega;  ///< bits -> Omega (kept in omega_json as "omega")
};

/// One Hessian report of a checkpoint: top eigenvalues, trace and per-layer figures.
struct HessianRow {
    int64_t id = 0;
    int64_t runId = 0;  ///< 0: a checkpoint outside any recorded run
    std::string checkpoint;
    int64_t step = 0;
    std::string mode;  ///< "float" | "dequantized" | "quantize-after"
    int64_t samples = 0;
    uint64_t seed = 0;
    int traceSamples = 0;  ///< 0: no trace computed
    std::vector<double> eigenvalues;
    double trace = 0.0;  ///< NaN: not computed
    double traceSe = 0.0;
    std::vector<HessianLayerRow> layers;  ///< forward order
    std::string createdAt;
};

/// A file made from a run: an export (kind "safetensors", "encodings", "onnx") or a report
/// ("report-html", "report-pdf"), with the SHA-256 of its bytes when it was written.
struct ArtifactRow {
    int64_t id = 0;
    int64_t runId = 0;
    std::string kind;
    std::string path;
    std::string sha256;  ///< 64 lowercase hex digits
    std::string createdAt;
};

/// Several processes may use one store at once (WAL: readers never wait; writers take turns,
/// each waiting up to RunStoreOptions::busyTimeoutMs for the lock). Every write is one
/// transaction: when it fails (busy, read-only, disk full) nothing of it is kept and everything
/// committed before stays intact.
///
/// Example:
///   auto store = qs::store::RunStore::open("/tmp/runs.sqlite");
///   int64_t id = store->createRun("demo", specJson, "{}");
///   store->appendMetrics(id, {{10, "train/loss", 1.2}});
///   store->setStatus(id, qs::store::status::kFinished);
class RunStore {
public:
    /// Opens or creates the store, applies migrations, and marks runs whose owning process is
    /// gone (same host, pid not alive) and whose status is running/paused as "interrupted".
    /// Throws StoreError naming the file for a locked, corrupt or non-SQLite file.
    ///
    /// A store this process cannot write (a read-only file or folder, a read-only disk) is
    /// opened read-only for browsing when it already holds this build's schema: reads work, and
    /// every write throws a StoreError of kind ReadOnly ("... is read-only: runs cannot be
    /// recorded"). Nothing is migrated or marked interrupted then. A store that would have to
    /// be created or upgraded there throws that error at once.
    static std::unique_ptr<RunStore> open(const std::string& path,
                                          const RunStoreOptions& options = {});
    ~RunStore();
    RunStore(const RunStore&) = delete;
    RunStore& operator=(const RunStore&) = delete;

    static int currentSchemaVersion();
    int schemaVersion() const;
    const std::string& path() const { return m_path; }
    /// True when open found the store read-only (see open): every write throws.
    bool isReadOnly() const { return m_readOnly; }

    /// Creates a run with status "running", this host and this pid. Returns its id.
    int64_t createRun(const std::string& name, const std::string& specJson,
                      const std::string& versionsJson);
    /// Sets the status (and for failed runs the error); sets finishedAt for terminal states
    /// (finished, failed, cancelled). Re-claims the run for this process (pid) when it becomes
    /// running again, as a resumed run does.
    void setStatus(int64_t runId, const std::string& status, const std::string& error = {});
    void setCheckpointDir(int64_t runId, const std::string& dir);
    void setFinalMetrics(int64_t runId, const std::map<std::string, double>& metrics);
    void renameRun(int64_t runId, const std::string& name);
    /// Deletes the run and all its rows (foreign keys cascade).
    void deleteRun(int64_t runId);
    /// Deletes the run's metrics and layer states recorded after `step`, in one transaction:
    /// a run resumed from a checkpoint at that step records them again.
    void truncateAfter(int64_t runId, int64_t step);

    /// Appends rows in one transaction: all of them are committed or none.
    void appendMetrics(int64_t runId, const std::vector<MetricRow>& rows);
    void appendLayerStates(int64_t runId, const std::vector<LayerStateRow>& rows);

    std::vector<RunRecord> listRuns() const;  ///< newest first
    std::optional<RunRecord> run(int64_t runId) const;
    /// Metrics of a run ordered by step; key empty = every key.
    std::vector<MetricRow> metrics(int64_t runId, const std::string& key = {}) const;
    /// Layer states of a run ordered by step then layer; step < 0 = every step.
    std::vector<LayerStateRow> layerStates(int64_t runId, int64_t step = -1) const;
    /// The last step that has layer states (-1 if none).
    int64_t lastLayerStateStep(int64_t runId) const;

    /// Records a sharpness figure; returns its id.
    int64_t addSharpness(const SharpnessRow& row);
    /// Sharpness figures of a run, oldest first.
    std::vector<SharpnessRow> sharpness(int64_t runId) const;

    /// Records a landscape (runId 0: not attached to a run); loss and accuracy must hold
    /// nx * ny values each. Returns its id.
    int64_t addLandscape(const LandscapeRow& row);
    /// Replaces a landscape's status and values in one transaction (values as in addLandscape).
    void updateLandscape(int64_t id, const std::string& status, const std::vector<double>& loss,
                         const std::vector<double>& accuracy);
    /// One landscape; nullopt when no row has this id. Throws StoreError for a row whose value
    /// blobs do not hold nx * ny values.
    std::optional<LandscapeRow> landscape(int64_t id) const;
    /// Landscapes of a run (runId <= 0: every landscape), oldest first.
    std::vector<LandscapeRow> landscapes(int64_t runId) const;

    /// Records a Hessian report and its layer rows in one transaction; returns its id.
    int64_t addHessian(const HessianRow& row);
    /// Hessian reports of a run (layers included), oldest first.
    std::vector<HessianRow> hessianReports(int64_t runId) const;
    /// Hessian reports of a checkpoint file, by the path they were recorded with, oldest first.
    std::vector<HessianRow> hessianReportsForCheckpoint(const std::string& checkpoint) const;
    /// One report; nullopt when no row has this id.
    std::optional<HessianRow> hessianReport(int64_t id) const;

    /// Records an artifact of a run; returns its id.
    int64_t addArtifact(const ArtifactRow& row);
    /// Artifacts of a run, oldest first.
    std::vector<ArtifactRow> artifacts(int64_t runId) const;

    /// Runs `PRAGMA integrity_check`; returns "ok" or the first problem.
    std::string integrityCheck() const;

private:
    explicit RunStore(std::string path);
    std::string m_path;
    sqlite3* m_db = nullptr;
    bool m_readOnly = false;
};

}  // namespace qs::store
