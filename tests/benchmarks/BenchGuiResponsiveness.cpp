// Benchmark: how long the GUI thread stalls while the engine trains the demo preset behind the
// real main window. A timer probe ticks every 10 ms on the GUI thread; each tick's lateness is a
// stall. Prints the distribution (target: 99th percentile under 50 ms) and how many coalesced
// updates the window received. Usage: bench_gui_responsiveness [SECONDS] [PRESET]
#include "app/bridge/EngineBackend.h"
#include "widgets/MainWindow.h"
#include "widgets/RunConfigPanel.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY")) {
        qputenv("QT_QPA_PLATFORM", "offscreen");
    }
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("QuantscapeBench"));
    const int seconds = argc > 1 ? std::atoi(argv[1]) : 60;
    const QString preset =
        argc > 2 ? QString::fromLocal8Bit(argv[2]) : QStringLiteral("demo-float");

    QTemporaryDir dir;
    qs::app::EngineBackend backend(dir.filePath(QStringLiteral("runs.sqlite")),
                                   dir.filePath(QStringLiteral("checkpoints")));
    qs::ui::MainWindow window(&backend);
    window.resize(1400, 900);
    window.show();

    int metricSignals = 0, layerSignals = 0, progressSignals = 0;
    QObject::connect(&backend, &qs::ui::RunBackend::metricsAppended, &app,
                     [&] { ++metricSignals; });
    QObject::connect(&backend, &qs::ui::RunBackend::layerStatesUpdated, &app,
                     [&] { ++layerSignals; });
    QObject::connect(&backend, &qs::ui::RunBackend::progressChanged, &app,
                     [&] { ++progressSignals; });

    QString error;
    const qint64 runId = backend.startRun(backend.presetSpec(preset), &error);
    if (runId == 0) {
        std::fprintf(stderr, "cannot start %s: %s\n", qPrintable(preset), qPrintable(error));
        return 1;
    }
    // Show the live run in every view, as a user watching it would.
    backend.requestHistogram(QStringLiteral("layer2.0.conv1"));

    constexpr int kTickMs = 10;
    std::vector<double> stalls;
    QElapsedTimer clock, total;
    clock.start();
    total.start();
    QTimer probe;
    probe.setTimerType(Qt::PreciseTimer);
    probe.setInterval(kTickMs);
    QObject::connect(&probe, &QTimer::timeout, &app, [&] {
        const double gap = clock.nsecsElapsed() / 1e6;
        clock.restart();
        stalls.push_back(std::max(0.0, gap - kTickMs));
        if (total.elapsed() > seconds * 1000) {
            probe.stop();
            backend.cancelRun();
            QTimer::singleShot(2000, &app, &QApplication::quit);
        }
    });
    probe.start();
    app.exec();

    std::sort(stalls.begin(), stalls.end());
    auto pct = [&](double p) { return stalls[std::size_t(p * double(stalls.size() - 1))]; };
    std::printf("GUI thread stalls while training preset %s behind the main window, %d s\n",
                qPrintable(preset), seconds);
    std::printf("%-10s %8s %8s %8s %8s %10s %10s %10s\n", "ticks", "p50 ms", "p90 ms", "p99 ms",
                "max ms", "metrics/s", "layers/s", "progress/s");
    std::printf("%-10zu %8.1f %8.1f %8.1f %8.1f %10.1f %10.1f %10.1f\n", stalls.size(), pct(0.5),
                pct(0.9), pct(0.99), stalls.back(), metricSignals / double(seconds),
                layerSignals / double(seconds), progressSignals / double(seconds));
    std::printf("target: p99 < 50 ms: %s\n", pct(0.99) < 50.0 ? "met" : "NOT met");
    return 0;
}
