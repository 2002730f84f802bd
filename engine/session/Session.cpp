#include "engine/session/Session.h"

#include "engine/io/Safetensors.h"
#include "engine/session/EventSink.h"
#include "engine/session/RunRecorder.h"
#include "engine/session/Versions.h"
#include "engine/store/RunStore.h"
#include "engine/train/Trainer.h"

#include <filesystem>
#include <iostream>
#include <map>

namespace qs::session {

namespace fs = std::filesystem;

/// Observers of one Session. Delivery holds the mutex, so once Subscription::reset() returns
/// the observer is never called again.
struct Subscription::Hub {
    std::mutex mutex;
    std::map<int, Observer*> observers;
    int nextId = 1;

    void deliver(const EventBatch& batch) {
        std::lock_guard<std::mutex> lock(mutex);
        for (auto& [id, observer] : observers) {
            observer->onEvents(batch);
        }
    }
};

Subscription::~Subscription() {
    reset();
}

Subscription::Subscription(Subscription&& other) noexcept
    : m_hub(std::move(other.m_hub)), m_id(other.m_id) {
    other.m_id = 0;
}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        m_hub = std::move(other.m_hub);
        m_id = other.m_id;
        other.m_id = 0;
    }
    return *this;
}

void Subscription::reset() {
    if (auto hub = m_hub.lock()) {
        std::lock_guard<std::mutex> lock(hub->mutex);
        hub->observers.erase(m_id);
    }
    m_hub.reset();
    m_id = 0;
}

bool Session::Control::checkpoint() {
    if (paused.load()) {
        std::unique_lock<std::mutex> lock(mutex);
        resumed.wait(lock, [this] { return !paused.load() || cancel.load(); });
    }
    return !cancel.load();
}

Session::Session() : m_hub(std::make_shared<Subscription::Hub>()) {}

Session::~Session() {
    cancel();
    if (m_worker.joinable()) {
        m_worker.join();
    }
}

Subscription Session::subscribe(Observer* observer) {
    std::lock_guard<std::mutex> lock(m_hub->mutex);
    const int id = m_hub->nextId++;
    m_hub->observers[id] = observer;
    return Subscription(m_hub, id);
}

namespace {

std::string versionsJson() {
    std::string json = "{";
    for (const auto& [name, version] : engineVersions()) {
        json += (json.size() > 1 ? ", \"" : "\"") + name + "\": \"" + version + "\"";
    }
    return json + "}";
}

constexpr const char* kRunReference = "run:";

}  // namespace

std::string resolveCheckpointReference(const store::RunStore& store, const std::string& value,
                                       const std::string& field) {
    if (value.rfind(kRunReference, 0) != 0) {
        return value;
    }
    const std::string name = value.substr(std::char_traits<char>::length(kRunReference));
    for (const store::RunRecord& run : store.listRuns()) {  // newest first
        if (run.name != name || run.status != store::status::kFinished) {
            continue;
        }
        const fs::path last = fs::path(run.checkpointDir) / "last.safetensors";
        if (!run.checkpointDir.empty() && fs::exists(last)) {
            return last.string();
        }
    }
    throw SpecError(field, "no finished run named '" + name + "' with a checkpoint in " +
                               store.path() + " (train it first, e.g. quantscape-cli train " +
                               "--preset " + name + ")");
}

int64_t Session::start(const RunSpec& specIn, const SessionOptions& options) {
    if (isRunning()) {
        throw std::logic_error("a job is already running in this session");
    }
    RunSpec spec = specIn;
    if (options.threads >= 0) {
        spec.threads = options.threads;
    }
    spec.validate();
    int64_t runId = 0;
    if (!options.dbPath.empty()) {
        auto store = store::RunStore::open(options.dbPath, options.store);
        // "run:NAME" references become the checkpoint paths they name, so the recorded spec
        // says which file the run really started from.
        spec.initCheckpoint =
            resolveCheckpointReference(*store, spec.initCheckpoint, "init_checkpoint");
        spec.method.distill.teacher = resolveCheckpointReference(
            *store, spec.method.distill.teacher, "method.distill.teacher");
        runId = store->createRun(spec.name, spec.toJson(), versionsJson());
        const std::string runDir =
            (fs::path(options.outDir) / ("run-" + std::to_string(runId))).string();
        store->setCheckpointDir(runId, fs::absolute(runDir).string());
    }
    if (options.dbPath.empty()) {
        for (const std::string* ref : {&spec.initCheckpoint, &spec.method.distill.teacher}) {
            if (ref->rfind(kRunReference, 0) == 0) {
                throw SpecError(
                    ref == &spec.initCheckpoint ? "init_checkpoint" : "method.distill.teacher",
                    "a \"run:NAME\" reference needs a run store (--db)");
            }
        }
    }
    launch(spec, options, runId, false);
    return runId;
}

void Session::resumeRun(int64_t runId, const SessionOptions& options) {
    if (isRunning()) {
        throw std::logic_error("a job is already running in this session");
    }
    if (options.dbPath.empty()) {
        throw std::invalid_argument("resuming a run needs its run store (--db)");
    }
    auto store = store::RunStore::open(options.dbPath, options.store);
    const auto record = store->run(runId);
    if (!record) {
        throw std::invalid_argument("no run with id " + std::to_string(runId) + " in " +
                                    options.dbPath);
    }
    if (record->status == store::status::kFinished) {
        throw std::invalid_argument("run " + std::to_string(runId) + " has already finished");
    }
    if (record->status == store::status::kRunning || record->status == store::status::kPaused) {
        throw std::invalid_argument("run " + std::to_string(runId) + " is " + record->status +
                                    " in another process");
    }
    const fs::path last = fs::path(record->checkpointDir) / "last.safetensors";
    if (record->checkpointDir.empty() || !fs::exists(last)) {
        throw std::invalid_argument(
            "run " + std::to_string(runId) +
            " has no checkpoint to resume from (it stopped before its first "
            "epoch ended); start it again instead");
    }
    // The checkpoint's step: rows recorded after it (the unfinished epoch) are recorded again.
    int64_t checkpointStep = 0;
    try {
        const io::SafetensorsFile ck = io::SafetensorsFile::load(last.string());
        auto it = ck.metadata().find("step");
        if (it == ck.metadata().end()) {
            throw io::FormatError(last.string() + ": metadata 'step' is missing");
        }
        checkpointStep = std::stoll(it->second);
    } catch (const std::logic_error&) {  // stoll: invalid_argument, out_of_range
        throw io::FormatError(last.string() + ": metadata 'step' is not a number");
    }
    store->truncateAfter(runId, checkpointStep);
    RunSpec spec = RunSpec::fromJson(record->specJson);
    SessionOptions opts = options;
    opts.outDir = fs::path(record->checkpointDir).parent_path().string();
    if (options.threads >= 0) {
        // Another thread count can change the last bits of the results: that is the user's call.
        spec.threads = options.threads;
    }
    launch(spec, opts, runId, true);
}

void Session::launch(RunSpec spec, SessionOptions options, int64_t runId, bool resuming) {
    if (m_worker.joinable()) {
        m_worker.join();
    }
    m_control = std::make_shared<Control>();
    {
        // A layer chosen before the run started (or in the previous run) stays chosen.
        std::lock_guard<std::mutex> lock(m_histogramMutex);
        m_control->histogramLayer = m_histogramLayer;
        m_control->histogramRequested = !m_histogramLayer.empty();
    }
    m_running = true;
    m_worker = std::thread([this, spec = std::move(spec), options = std::move(options), runId,
                            resuming, control = m_control, hub = m_hub]() {
        std::unique_ptr<store::RunStore> store;
        std::unique_ptr<RunRecorder> recorder;
        // Set when the store cannot take the run any more (read-only, full, or rows lost):
        // training stops, and the job ends failed with this reason.
        std::string recordingError;
        auto deliver = [&](const EventBatch& batch) {
            if (recorder) {
                try {
                    recorder->onEvents(batch);
                } catch (const store::StoreError& e) {
                    // A busy store is retried by the recorder with a later batch: say so and go
                    // on. Anything else would train on without being recorded: stop.
                    EventBatch warning{batch.runId, {LogLine{LogLevel::Error, e.what()}}};
                    hub->deliver(warning);
                    if (e.kind() != store::StoreError::Kind::Busy || !recorder->isComplete()) {
                        if (recordingError.empty()) {
                            recordingError = e.what();
                        }
                        std::lock_guard<std::mutex> lock(control->mutex);
                        control->cancel = true;
                        control->resumed.notify_all();
                    }
                } catch (const std::exception& e) {
                    EventBatch warning{batch.runId, {LogLine{LogLevel::Error, e.what()}}};
                    hub->deliver(warning);
                }
            }
            hub->deliver(batch);
        };
        EventSink sink(runId, options.eventInterval, deliver);
        Finished finished;
        try {
            std::string runDir;
            if (!options.dbPath.empty()) {
                store = store::RunStore::open(options.dbPath, options.store);
                recorder = std::make_unique<RunRecorder>(*store, runId);
                runDir = (fs::path(options.outDir) / ("run-" + std::to_string(runId))).string();
                if (resuming) {
                    store->setStatus(runId, store::status::kRunning);
                }
            } else {
                runDir = (fs::path(options.outDir) / ("run-" + spec.name)).string();
            }
            train::TrainerContext ctx{control.get(), &sink, runDir, resuming, options.distributed};
            finished = train::runTraining(spec, ctx);
        } catch (const std::exception& e) {
            finished.status = "failed";
            finished.error = e.what();
            sink.post(LogLine{LogLevel::Error, finished.error});
        }
        sink.flush();  // the queued batches reach the recorder before the verdict
        if (!recordingError.empty() || (recorder && !recorder->isComplete())) {
            finished.status = "failed";
            finished.error =
                "the run could not be recorded: " +
                (recordingError.empty() ? std::string("rows were dropped") : recordingError);
        }
        finished.runId = runId;
        sink.post(finished);
        sink.flush();
        {
            std::lock_guard<std::mutex> lock(control->mutex);
            m_finished = finished;
        }
        m_running = false;
    });
}

void Session::pause() {
    if (m_control) {
        m_control->paused = true;
    }
}

void Session::resume() {
    if (m_control) {
        {
            std::lock_guard<std::mutex> lock(m_control->mutex);
            m_control->paused = false;
        }
        m_control->resumed.notify_all();
    }
}

void Session::cancel() {
    if (m_control) {
        {
            std::lock_guard<std::mutex> lock(m_control->mutex);
            m_control->cancel = true;
        }
        m_control->resumed.notify_all();
    }
}

bool Session::isRunning() const {
    return m_running.load();
}

void Session::requestHistogram(const std::string& layer) {
    std::lock_guard<std::mutex> lock(m_histogramMutex);
    m_histogramLayer = layer;
    if (m_control) {
        std::lock_guard<std::mutex> controlLock(m_control->mutex);
        m_control->histogramLayer = layer;
        m_control->histogramRequested = true;
    }
}

bool Session::isPaused() const {
    return m_control && m_control->paused.load();
}

Finished Session::wait() {
    if (m_worker.joinable()) {
        m_worker.join();
    }
    return m_finished;
}

}  // namespace qs::session
