// quantscape-cli landscape end to end: the built binary on a tiny checkpoint it trained itself,
// with its store in a temporary directory. The JSON and table outputs, the .vtp export, the
// listing, usage errors (exit 2) and bad files (exit 3), and Ctrl-C leaving a resumable row whose
// resume gives the uninterrupted surface.
#include "CliProcess.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

#include <signal.h>

using namespace qs::test;

class TestCliLandscape : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void landscapeOfARunAsJsonWithVtpAndListing();
    void usageAndFileErrors_data();
    void usageAndFileErrors();
    void interruptLeavesAResumableLandscape();

private:
    std::unique_ptr<QProcess> start(const QStringList& args) const;
    CliResult cli(const QStringList& args, int timeoutMs = 60000) const;
    QStringList db() const { return {QStringLiteral("--db"), m_db}; }
    QStringList small() const {
        return {QStringLiteral("--samples"),    QStringLiteral("32"),
                QStringLiteral("--batch-size"), QStringLiteral("32"),
                QStringLiteral("--threads"),    QStringLiteral("1")};
    }

    QTemporaryDir m_dir;
    QString m_data;
    QString m_db;
    QString m_checkpoint;
};

std::unique_ptr<QProcess> TestCliLandscape::start(const QStringList& args) const {
    return startCli(args, m_dir.filePath(QStringLiteral("xdg")),
                    m_dir.filePath(QStringLiteral("home")), m_dir.path());
}

CliResult TestCliLandscape::cli(const QStringList& args, int timeoutMs) const {
    return finishCli(*start(args), args, timeoutMs);
}

void TestCliLandscape::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kCli), qPrintable(kCli));
    m_data = m_dir.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(m_data));
    qs::test::writeTinyDataset(m_data.toStdString());
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite"));
    const QString spec = m_dir.filePath(QStringLiteral("spec.json"));
    QFile file(spec);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(
        QJsonDocument(qs::test::tinySpecJson(m_data, QStringLiteral("fp"), QStringLiteral("fp"), 1))
            .toJson());
    file.close();
    const CliResult train =
        cli(QStringList{QStringLiteral("train"), QStringLiteral("--spec"), spec,
                        QStringLiteral("--out"), m_dir.filePath(QStringLiteral("out"))} +
            db());
    QVERIFY2(train.exitCode == 0, qPrintable(describe(train)));
    m_checkpoint = m_dir.filePath(QStringLiteral("out/run-1/last.safetensors"));
    QVERIFY(QFile::exists(m_checkpoint));
}

void TestCliLandscape::landscapeOfARunAsJsonWithVtpAndListing() {
    const QString vtp = m_dir.filePath(QStringLiteral("fp.vtp"));
    const CliResult r =
        cli(QStringList{QStringLiteral("landscape"), QStringLiteral("--run"), QStringLiteral("1"),
                        QStringLiteral("--grid"), QStringLiteral("5x3"), QStringLiteral("--range"),
                        QStringLiteral("-1:1,-0.5:0.5"), QStringLiteral("--vtp"), vtp,
                        QStringLiteral("--json")} +
            small() + db());
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    const QJsonObject j = parseObject(r.out);
    QCOMPARE(j.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(j.value(QStringLiteral("run_id")).toInt(), 1);
    QCOMPARE(j.value(QStringLiteral("nx")).toInt(), 5);
    QCOMPARE(j.value(QStringLiteral("ny")).toInt(), 3);
    QCOMPARE(j.value(QStringLiteral("mode")).toString(), QStringLiteral("float"));
    QCOMPARE(j.value(QStringLiteral("samples")).toInt(), 32);
    QCOMPARE(j.value(QStringLiteral("y_range")).toArray().at(1).toDouble(), 0.5);
    const QJsonArray loss = j.value(QStringLiteral("loss")).toArray();
    QCOMPARE(loss.size(), 15);
    for (const QJsonValue& v : loss) {
        QVERIFY(v.isDouble() && v.toDouble() > 0.0);
    }
    QVERIFY2(r.err.contains(QRegularExpression(QStringLiteral("landscape 1: 100%, [0-9.]+ "
                                                              "points/s, ETA 0 s"))),
             qPrintable(r.err));
    QVERIFY(QFile::exists(vtp));
    QFile vtpFile(vtp);
    QVERIFY(vtpFile.open(QIODevice::ReadOnly));
    const QByteArray text = vtpFile.readAll();
    QVERIFY(text.contains("NumberOfPoints=\"15\""));
    QVERIFY(text.contains("NumberOfPolys=\"8\""));
    QVERIFY(text.contains("Name=\"loss\""));

    // The table form of the same landscape: the (0, 0) loss is the centre of the JSON's grid.
    const CliResult table =
        cli(QStringList{QStringLiteral("landscape"), QStringLiteral("--checkpoint"), m_checkpoint,
                        QStringLiteral("--grid"), QStringLiteral("5x3"), QStringLiteral("--range"),
                        QStringLiteral("-1:1,-0.5:0.5")} +
            small() + db());
    QVERIFY2(table.exitCode == 0, qPrintable(describe(table)));
    QVERIFY2(table.out.startsWith(QStringLiteral("landscape 2 of %1 (step ").arg(m_checkpoint)),
             qPrintable(table.out));
    QVERIFY2(table.out.contains(QRegularExpression(QStringLiteral(
                 "\nrandom +float +5x3 +\\[-1, 1\\] x \\[-0.5, 0.5\\] +32 +finished "))),
             qPrintable(table.out));
    QVERIFY2(table.out.contains(QString::number(loss.at(7).toDouble(), 'f', 5)),
             qPrintable(table.out));

    const CliResult list = cli(QStringList{QStringLiteral("landscape"), QStringLiteral("--list"),
                                           QStringLiteral("--run"), QStringLiteral("1")} +
                               db());
    QVERIFY2(list.exitCode == 0, qPrintable(describe(list)));
    const QStringList lines = list.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 3);  // header, rule, the landscape of run 1 (not the loose one)
    QVERIFY2(lines[2].contains(QRegularExpression(
                 QStringLiteral("^1 +1 +\\d+ +random +float +5x3 +finished +100.00%"))),
             qPrintable(list.out));
}

void TestCliLandscape::usageAndFileErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("nothing") << QStringList{} << 2
                             << QStringLiteral("give exactly one of --run RUN_ID, --checkpoint");
    QTest::newRow("bad grid") << QStringList{"--run", "1", "--grid", "0x3"} << 2
                              << QStringLiteral("--grid: NX or NXxNY");
    QTest::newRow("bad range") << QStringList{"--run", "1", "--range", "1:-1"} << 2
                               << QStringLiteral("--range: A:B or A:B,C:D");
    QTest::newRow("interpolation without other")
        << QStringList{"--run", "1", "--directions", "interpolation"} << 2
        << QStringLiteral("interpolation needs exactly one of --other FILE and --other-run");
    QTest::newRow("other without interpolation")
        << QStringList{"--run", "1", "--other", "x.safetensors"} << 2
        << QStringLiteral("--other and --other-run go with --directions interpolation");
    QTest::newRow("bad parallel") << QStringList{"--run", "1", "--parallel", "gpu"} << 2
                                  << QStringLiteral("--parallel: auto, points or intra-op");
    QTest::newRow("resume with a grid") << QStringList{"--resume", "1", "--grid", "3"} << 2
                                        << QStringLiteral("landscape --resume takes the options");
    QTest::newRow("resume unknown")
        << QStringList{"--resume", "42"} << 2 << QStringLiteral("no landscape with id 42 in");
    QTest::newRow("missing checkpoint") << QStringList{"--checkpoint", "missing.safetensors"} << 3
                                        << QStringLiteral("missing.safetensors");
    QTest::newRow("unknown run") << QStringList{"--run", "9"} << 3
                                 << QStringLiteral("no run with id 9 in");
}

void TestCliLandscape::usageAndFileErrors() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const CliResult r = cli(QStringList{QStringLiteral("landscape")} + args + db());
    QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(message), qPrintable(describe(r)));
}

void TestCliLandscape::interruptLeavesAResumableLandscape() {
    // 13 x 13 points: long enough to interrupt after the first streamed row.
    const QStringList grid{QStringLiteral("--checkpoint"), m_checkpoint, QStringLiteral("--grid"),
                           QStringLiteral("13"), QStringLiteral("--json")};
    const QString otherDb = m_dir.filePath(QStringLiteral("whole.sqlite"));
    const CliResult whole = cli(QStringList{QStringLiteral("landscape")} + grid + small() +
                                    QStringList{QStringLiteral("--db"), otherDb},
                                120000);
    QVERIFY2(whole.exitCode == 0, qPrintable(describe(whole)));

    const std::unique_ptr<QProcess> run =
        start(QStringList{QStringLiteral("landscape")} + grid + small() + db());
    QVERIFY(run->waitForStarted());
    QString err;
    QTRY_VERIFY_WITH_TIMEOUT((err += QString::fromUtf8(run->readAllStandardError()))
                                 .contains(QStringLiteral("points/s")),
                             30000);
    QCOMPARE(::kill(pid_t(run->processId()), SIGINT), 0);
    QVERIFY(run->waitForFinished(30000));
    err += QString::fromUtf8(run->readAllStandardError());
    QVERIFY2(run->exitCode() == 1, qPrintable(err));
    const QRegularExpressionMatch m =
        QRegularExpression(QStringLiteral("resume with `quantscape-cli landscape --resume (\\d+)"))
            .match(err);
    QVERIFY2(m.hasMatch(), qPrintable(err));
    const QJsonObject cut = parseObject(QString::fromUtf8(run->readAllStandardOutput()));
    QCOMPARE(cut.value(QStringLiteral("status")).toString(), QStringLiteral("cancelled"));
    const int pending = cut.value(QStringLiteral("pending")).toInt();
    QVERIFY2(pending > 0 && pending < 169, qPrintable(QString::number(pending)));

    const CliResult resumed = cli(
        QStringList{QStringLiteral("landscape"), QStringLiteral("--resume"), m.captured(1),
                    QStringLiteral("--threads"), QStringLiteral("1"), QStringLiteral("--json")} +
            db(),
        120000);
    QVERIFY2(resumed.exitCode == 0, qPrintable(describe(resumed)));
    const QJsonObject done = parseObject(resumed.out);
    QCOMPARE(done.value(QStringLiteral("status")).toString(), QStringLiteral("finished"));
    QCOMPARE(done.value(QStringLiteral("loss")), parseObject(whole.out).value("loss"));
    QCOMPARE(done.value(QStringLiteral("accuracy")), parseObject(whole.out).value("accuracy"));
}

QTEST_GUILESS_MAIN(TestCliLandscape)
#include "TestCliLandscape.moc"
