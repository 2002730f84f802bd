#include "engine/session/Worker.h"

#include "engine/dist/Distributed.h"
#include "engine/session/EventSink.h"
#include "engine/train/Trainer.h"
#include "engine/util/Threads.h"

namespace qs::session {

Finished runWorker(const WorkerOptions& options, const std::function<void(const LogLine&)>& log) {
    Finished finished;
    finished.status = "failed";
    try {
        engine::applyThreadCount(options.threads);
        dist::GroupOptions groupOptions;
        groupOptions.rank = options.rank;
        groupOptions.worldSize = options.worldSize;
        groupOptions.masterAddr = options.masterAddr;
        groupOptions.masterPort = options.masterPort;
        groupOptions.timeout = std::chrono::milliseconds(int64_t(options.connectTimeoutS * 1000.0));
        if (options.rank < 1) {
            throw std::runtime_error("a worker's rank must be at least 1 (rank 0 runs the spec)");
        }
        dist::Group group(groupOptions);
        RunSpec spec;
        try {
            spec = RunSpec::fromJson(group.value("spec"));
            if (spec.distributed.processes != options.worldSize) {
                throw std::runtime_error("rank 0 runs " +
                                         std::to_string(spec.distributed.processes) +
                                         " processes, but this one was started with --world-size " +
                                         std::to_string(options.worldSize));
            }
        } catch (const std::exception& e) {
            group.reportFailure(e.what());
            throw;
        }
        group.setTimeout(std::chrono::milliseconds(int64_t(spec.distributed.timeoutS * 1000.0)));
        EventSink sink(0, 0.5, [&](const EventBatch& batch) {
            for (const Event& event : batch.events) {
                if (const auto* line = std::get_if<LogLine>(&event)) {
                    log(*line);
                }
            }
        });
        train::TrainerContext context;
        context.sink = &sink;
        context.resume = group.value("resume") == "1";
        context.group = &group;
        finished = train::runTraining(spec, context);
        sink.flush();
    } catch (const std::exception& e) {
        finished.status = "failed";
        finished.error = e.what();
        log(LogLine{LogLevel::Error, finished.error});
    }
    return finished;
}

}  // namespace qs::session
