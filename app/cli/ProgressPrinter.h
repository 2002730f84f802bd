// Prints a job's progress on stderr: a redrawn bar with ETA on a terminal, a line every few
// percent otherwise (logs, CI). Log lines and errors go to stderr too.
#pragma once

#include "engine/session/Events.h"

#include <mutex>

namespace qs::cli {

class ProgressPrinter : public session::Observer {
public:
    explicit ProgressPrinter(bool quiet = false);
    void onEvents(const session::EventBatch& batch) override;
    /// Ends a bar line in progress so that the next output starts on a clean line.
    void finishLine();

private:
    void drawProgress(const session::Progress& p);

    std::mutex m_mutex;
    bool m_tty;
    bool m_quiet;
    bool m_lineOpen = false;
    int m_lastPercentPrinted = -100;
    double m_lastLoss = -1.0;
    double m_lastAcc = -1.0;
};

}  // namespace qs::cli
