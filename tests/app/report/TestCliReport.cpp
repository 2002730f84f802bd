// quantscape-cli report end to end: the built binary, run with QProcess on a store the test
// writes through RunStore's API, with no display and no Qt platform set (the CLI creates its own
// offscreen QGuiApplication). HTML and PDF files, a comparison, and the exit codes of bad input.
#include "CliProcess.h"
#include "ReportFixture.h"

#include <QFile>
#include <QTemporaryDir>
#include <QTest>

using namespace qs::test;

class TestCliReport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void htmlReport();
    void pdfComparison();
    void badInputExitCodes_data();
    void badInputExitCodes();

private:
    CliResult cli(const QStringList& args) const;

    QTemporaryDir m_dir;
    ReportFixture m_fixture;
    QString m_db;
};

void TestCliReport::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kCli), qPrintable(kCli));
    m_fixture = writeReportFixture(m_dir.path().toStdString());
    m_db = QString::fromStdString(m_fixture.dbPath);
    // The CLI inherits this environment: no display and no platform, as on a headless server.
    qunsetenv("QT_QPA_PLATFORM");
    qunsetenv("DISPLAY");
    qunsetenv("WAYLAND_DISPLAY");
}

CliResult TestCliReport::cli(const QStringList& args) const {
    const auto process = startCli(args, m_dir.filePath(QStringLiteral("xdg")),
                                  m_dir.filePath(QStringLiteral("home")));
    return finishCli(*process, args, 60000);
}

void TestCliReport::htmlReport() {
    const QString out = m_dir.filePath(QStringLiteral("run.html"));
    const CliResult r =
        cli({QStringLiteral("report"), QStringLiteral("--run"), QString::number(m_fixture.quantRun),
             QStringLiteral("--out"), out, QStringLiteral("--db"), m_db});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QString html = QString::fromUtf8(file.readAll());
    QVERIFY(html.startsWith(QStringLiteral("<!DOCTYPE html>")));
    QVERIFY(html.contains(QStringLiteral("<h2>Checksums</h2>")));
    QVERIFY(html.contains(QString::fromStdString(m_fixture.exportSha256)));
    QCOMPARE(html.count(QStringLiteral("src=\"data:image/png;base64,")), 3);
    QVERIFY2(
        r.out.contains(
            QStringLiteral("report written: %1 (%2 bytes, 3 images)").arg(out).arg(file.size())),
        qPrintable(describe(r)));
}

void TestCliReport::pdfComparison() {
    const QString out = m_dir.filePath(QStringLiteral("compare.pdf"));
    const CliResult r =
        cli({QStringLiteral("report"), QStringLiteral("--run"), QString::number(m_fixture.floatRun),
             QStringLiteral("--run"), QString::number(m_fixture.quantRun), QStringLiteral("--out"),
             out, QStringLiteral("--db"), m_db});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QFile file(out);
    QVERIFY(file.open(QIODevice::ReadOnly));
    QVERIFY(file.read(4) == "%PDF");
    QVERIFY2(r.out.contains(QStringLiteral(" pages)")), qPrintable(describe(r)));
}

void TestCliReport::badInputExitCodes_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    const QString db = m_dir.filePath(QStringLiteral("runs.sqlite"));
    const QString txt = m_dir.filePath(QStringLiteral("x.txt"));
    const QString html = m_dir.filePath(QStringLiteral("x.html"));
    QTest::newRow("bad extension")
        << QStringList{QStringLiteral("report"),
                       QStringLiteral("--run"),
                       QStringLiteral("2"),
                       QStringLiteral("--out"),
                       txt,
                       QStringLiteral("--db"),
                       db}
        << 2 << QStringLiteral("report: --out must name a .html or .pdf file (got %1)").arg(txt);
    QTest::newRow("no run") << QStringList{QStringLiteral("report"), QStringLiteral("--out"), html,
                                           QStringLiteral("--db"), db}
                            << 2 << QStringLiteral("report needs --run RUN_ID");
    QTest::newRow("unknown option") << QStringList{QStringLiteral("report"),
                                                   QStringLiteral("--run"),
                                                   QStringLiteral("2"),
                                                   QStringLiteral("--out"),
                                                   html,
                                                   QStringLiteral("--pages"),
                                                   db}
                                    << 2 << QStringLiteral("report: unknown option --pages");
    QTest::newRow("unknown run") << QStringList{QStringLiteral("report"),
                                                QStringLiteral("--run"),
                                                QStringLiteral("999"),
                                                QStringLiteral("--out"),
                                                html,
                                                QStringLiteral("--db"),
                                                db}
                                 << 3 << QStringLiteral("no run with id 999 in %1").arg(db);
    const QString missing = m_dir.filePath(QStringLiteral("missing.sqlite"));
    QTest::newRow("missing store") << QStringList{QStringLiteral("report"),
                                                  QStringLiteral("--run"),
                                                  QStringLiteral("2"),
                                                  QStringLiteral("--out"),
                                                  html,
                                                  QStringLiteral("--db"),
                                                  missing}
                                   << 3 << QStringLiteral("%1: no run store here yet").arg(missing);
}

void TestCliReport::badInputExitCodes() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const CliResult r = cli(args);
    QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(message), qPrintable(describe(r)));
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("x.html"))));
    QVERIFY(!QFile::exists(m_dir.filePath(QStringLiteral("x.txt"))));
}

QTEST_GUILESS_MAIN(TestCliReport)
#include "TestCliReport.moc"
