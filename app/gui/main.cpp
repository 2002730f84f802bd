// quantscape: the desktop window over the engine. The demo preset is loaded and ready to run
// unless the user's last spec was restored from the settings.
#include "app/bridge/EngineBackend.h"
#include "widgets/MainWindow.h"
#include "widgets/RunConfigPanel.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QStandardPaths>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("quantscape"));
    // Matches the installed desktop entry (packaging/Packaging.cmake), for the window icon and
    // grouping in desktop shells.
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.quantscape.Quantscape"));
    QApplication::setOrganizationName(QStringLiteral("Quantscape"));
    QApplication::setApplicationVersion(QStringLiteral(QS_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Neural-network quantization workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption dbOption(QStringLiteral("db"), QStringLiteral("Run store file."),
                                      QStringLiteral("PATH"));
    const QCommandLineOption outOption(
        QStringLiteral("out"), QStringLiteral("Folder for checkpoints."), QStringLiteral("DIR"));
    const QCommandLineOption presetOption(QStringLiteral("preset"),
                                          QStringLiteral("Load this preset into the run panel."),
                                          QStringLiteral("NAME"));
    parser.addOptions({dbOption, outOption, presetOption});
    parser.process(app);

    // The same defaults as quantscape-cli, so both see the same runs.
    const QString dataHome = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation) +
                             QStringLiteral("/quantscape");
    QDir().mkpath(dataHome);
    const QString db =
        parser.isSet(dbOption) ? parser.value(dbOption) : dataHome + QStringLiteral("/runs.sqlite");
    const QString out = parser.isSet(outOption) ? parser.value(outOption)
                                                : dataHome + QStringLiteral("/checkpoints");

    qs::app::EngineBackend backend(db, out);
    qs::ui::MainWindow window(&backend);
    if (parser.isSet(presetOption)) {
        window.configPanel()->applyPreset(parser.value(presetOption));
    }
    window.show();
    return app.exec();
}
