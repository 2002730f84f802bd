// Running the built quantscape-cli from the CLI tests: a process with its own HOME and
// XDG_DATA_HOME (never the user's data folder), and its exit, stdout and stderr. Header-only;
// every target that includes it defines QS_CLI_PATH.
#pragma once

#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QString>
#include <QStringList>

#include <memory>

namespace qs::test {

inline const QString kCli = QStringLiteral(QS_CLI_PATH);

struct CliResult {
    int exitCode = -1;  ///< -1 when the process crashed or did not finish
    QProcess::ExitStatus exitStatus = QProcess::CrashExit;
    QString out;
    QString err;
};

inline QString describe(const CliResult& r) {
    return QStringLiteral("exit %1\n--- stdout:\n%2\n--- stderr:\n%3")
        .arg(r.exitCode)
        .arg(r.out, r.err);
}

/// The JSON object printed by --json; empty when the text is not one.
inline QJsonObject parseObject(const QString& text) {
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(text.toUtf8(), &error);
    return error.error == QJsonParseError::NoError ? doc.object() : QJsonObject();
}

/// Starts quantscape-cli with HOME and XDG_DATA_HOME set to `home` and `xdg`.
inline std::unique_ptr<QProcess> startCli(const QStringList& args, const QString& xdg,
                                          const QString& home, const QString& workDir = {}) {
    auto process = std::make_unique<QProcess>();
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("XDG_DATA_HOME"), xdg);
    env.insert(QStringLiteral("HOME"), home);
    process->setProcessEnvironment(env);
    if (!workDir.isEmpty()) {
        process->setWorkingDirectory(workDir);
    }
    process->start(kCli, args);
    return process;
}

/// Waits for a started process; kills it after timeoutMs.
inline CliResult finishCli(QProcess& process, const QStringList& args, int timeoutMs) {
    CliResult r;
    if (!process.waitForStarted() || !process.waitForFinished(timeoutMs)) {
        process.kill();
        process.waitForFinished();
        r.err = QStringLiteral("did not finish: quantscape-cli ") + args.join(QLatin1Char(' '));
        return r;
    }
    r.exitStatus = process.exitStatus();
    r.exitCode = r.exitStatus == QProcess::NormalExit ? process.exitCode() : -1;
    r.out = QString::fromUtf8(process.readAllStandardOutput());
    r.err = QString::fromUtf8(process.readAllStandardError());
    return r;
}

}  // namespace qs::test
