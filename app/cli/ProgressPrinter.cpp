#include "app/cli/ProgressPrinter.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace qs::cli {

namespace {

std::string clockText(double seconds) {
    if (seconds < 0) {
        return "--:--";
    }
    const long s = long(std::lround(seconds));
    char buf[32];
    if (s >= 3600) {
        std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    } else {
        std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    }
    return buf;
}

}  // namespace

ProgressPrinter::ProgressPrinter(bool quiet) : m_tty(isatty(STDERR_FILENO) != 0), m_quiet(quiet) {}

void ProgressPrinter::finishLine() {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_lineOpen) {
        std::fputc('\n', stderr);
        m_lineOpen = false;
    }
}

void ProgressPrinter::drawProgress(const session::Progress& p) {
    const double frac = p.totalSteps > 0 ? double(p.step) / double(p.totalSteps) : 0.0;
    const int percent = int(frac * 100.0);
    std::string stats;
    if (m_lastLoss >= 0) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " loss %.3f acc %.3f", m_lastLoss, m_lastAcc);
        stats = buf;
    }
    char line[256];
    if (m_tty) {
        constexpr int width = 28;
        const int filled = int(frac * width);
        std::string bar(std::size_t(filled), '#');
        bar.resize(width, '-');
        std::snprintf(line, sizeof line, "\r[%s] %3d%% %-10s epoch %d/%d step %lld/%lld%s ETA %s ",
                      bar.c_str(), percent, p.phase.c_str(), p.epoch, p.totalEpochs,
                      (long long)p.step, (long long)p.totalSteps, stats.c_str(),
                      clockText(p.etaSeconds).c_str());
        std::fputs(line, stderr);
        m_lineOpen = true;
    } else if (percent >= m_lastPercentPrinted + 5 || p.phase != "training") {
        if (p.phase == "training") {
            m_lastPercentPrinted = percent;
        }
        std::snprintf(line, sizeof line, "%3d%% %s epoch %d/%d step %lld/%lld%s ETA %s\n", percent,
                      p.phase.c_str(), p.epoch, p.totalEpochs, (long long)p.step,
                      (long long)p.totalSteps, stats.c_str(), clockText(p.etaSeconds).c_str());
        std::fputs(line, stderr);
    }
    std::fflush(stderr);
}

void ProgressPrinter::onEvents(const session::EventBatch& batch) {
    std::lock_guard<std::mutex> lock(m_mutex);
    for (const session::Event& event : batch.events) {
        if (const auto* m = std::get_if<session::StepMetrics>(&event)) {
            auto loss = m->values.find("train/loss");
            auto acc = m->values.find("train/acc");
            if (loss != m->values.end() && acc != m->values.end()) {
                m_lastLoss = loss->second;
                m_lastAcc = acc->second;
            }
        } else if (const auto* p = std::get_if<session::Progress>(&event)) {
            if (!m_quiet) {
                drawProgress(*p);
            }
        } else if (const auto* l = std::get_if<session::LogLine>(&event)) {
            if (m_lineOpen) {
                std::fputc('\n', stderr);
                m_lineOpen = false;
            }
            const char* prefix = l->level == session::LogLevel::Error     ? "error: "
                                 : l->level == session::LogLevel::Warning ? "warning: "
                                                                          : "";
            std::fprintf(stderr, "%s%s\n", prefix, l->text.c_str());
        }
    }
}

}  // namespace qs::cli
