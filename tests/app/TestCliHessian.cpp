// quantscape-cli hessian and allocate end to end: the built binary, run with QProcess on a tiny
// learnable dataset with its store and checkpoints in a temporary directory. The report as JSON
// and as a table, recorded in the store; allocate from the stored report (and computing one for
// a loose checkpoint), the frontier, the spec it writes (trained with train --spec), and the
// exit codes and messages of bad input.
#include "CliProcess.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QTest>

using namespace qs::test;

class TestCliHessian : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void hessianOfARunIsRecorded();
    void allocateUsesTheStoredReportAndWritesATrainableSpec();
    void allocateComputesAReportForALooseCheckpoint();
    void badInputExitCodes_data();
    void badInputExitCodes();

private:
    CliResult cli(const QStringList& args, int timeoutMs = 90000) const;
    QStringList small() const;

    QTemporaryDir m_dir;
    QString m_data;
    QString m_db;
    QString m_out;
    QString m_checkpoint;
};

void TestCliHessian::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kCli), qPrintable(kCli));
    m_data = m_dir.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(m_data));
    qs::test::writeTinyDataset(m_data.toStdString());
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite"));
    m_out = m_dir.filePath(QStringLiteral("out"));
    const QString spec = m_dir.filePath(QStringLiteral("fp.json"));
    QFile file(spec);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(qs::test::tinySpecJson(m_data, QStringLiteral("tiny-fp"),
                                                    QStringLiteral("fp"), 1))
                   .toJson());
    file.close();
    const CliResult r = cli({QStringLiteral("train"), QStringLiteral("--spec"), spec,
                             QStringLiteral("--db"), m_db, QStringLiteral("--out"), m_out});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    m_checkpoint = m_out + QStringLiteral("/run-1/last.safetensors");
    QVERIFY(QFile::exists(m_checkpoint));
}

CliResult TestCliHessian::cli(const QStringList& args, int timeoutMs) const {
    const auto process = startCli(args, m_dir.filePath(QStringLiteral("xdg")),
                                  m_dir.filePath(QStringLiteral("home")));
    return finishCli(*process, args, timeoutMs);
}

QStringList TestCliHessian::small() const {
    return {QStringLiteral("--samples"),       QStringLiteral("48"),
            QStringLiteral("--batch-size"),    QStringLiteral("24"),
            QStringLiteral("--trace-samples"), QStringLiteral("6"),
            QStringLiteral("--threads"),       QStringLiteral("1")};
}

void TestCliHessian::hessianOfARunIsRecorded() {
    const CliResult r =
        cli(QStringList{QStringLiteral("hessian"), QStringLiteral("--run"), QStringLiteral("1"),
                        QStringLiteral("--json"), QStringLiteral("--db"), m_db} +
            small());
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(QStringLiteral("trace, float: 100%")), qPrintable(r.err));
    const QJsonObject report = parseObject(r.out);
    QCOMPARE(report.value(QStringLiteral("id")).toInt(), 1);
    QCOMPARE(report.value(QStringLiteral("mode")).toString(), QStringLiteral("float"));
    QCOMPARE(report.value(QStringLiteral("samples")).toInt(), 48);
    QCOMPARE(report.value(QStringLiteral("eigenvalues")).toArray().size(), 2);
    const QJsonArray layers = report.value(QStringLiteral("layers")).toArray();
    QCOMPARE(layers.size(), 22);
    const QJsonObject first = layers[0].toObject();
    QCOMPARE(first.value(QStringLiteral("layer")).toString(), QStringLiteral("conv1"));
    QCOMPARE(first.value(QStringLiteral("omega")).toObject().keys(),
             (QStringList{"2", "3", "4", "8"}));

    // Recorded among the run's final metrics.
    const CliResult show = cli({QStringLiteral("runs"), QStringLiteral("show"), QStringLiteral("1"),
                                QStringLiteral("--json"), QStringLiteral("--db"), m_db});
    const QJsonObject finals =
        parseObject(show.out).value(QStringLiteral("final_metrics")).toObject();
    QCOMPARE(finals.value(QStringLiteral("hessian/top_eigenvalue/float")).toDouble(),
             report.value(QStringLiteral("eigenvalues")).toArray()[0].toDouble());

    // As a table, with other candidate bits.
    const CliResult table =
        cli(QStringList{QStringLiteral("hessian"), QStringLiteral("--checkpoint"), m_checkpoint,
                        QStringLiteral("--top-k"), QStringLiteral("1"), QStringLiteral("--bits"),
                        QStringLiteral("2,4"), QStringLiteral("--db"), m_db} +
            small());
    QVERIFY2(table.exitCode == 0, qPrintable(describe(table)));
    QVERIFY2(table.out.startsWith(QStringLiteral("checkpoint %1 (fp, step ").arg(m_checkpoint)),
             qPrintable(table.out));
    QVERIFY2(table.out.contains(QStringLiteral("Omega(2)")) &&
                 table.out.contains(QStringLiteral("Omega(4)")) &&
                 !table.out.contains(QStringLiteral("Omega(3)")),
             qPrintable(table.out));
    QVERIFY(table.out.contains(QStringLiteral("\nlayer3.0.downsample.0 ")));
}

void TestCliHessian::allocateUsesTheStoredReportAndWritesATrainableSpec() {
    const QString specFile = m_dir.filePath(QStringLiteral("mp.json"));
    const CliResult r = cli({QStringLiteral("allocate"), QStringLiteral("--run"),
                             QStringLiteral("1"), QStringLiteral("--avg-bits"), QStringLiteral("3"),
                             QStringLiteral("--frontier"), QStringLiteral("--spec-out"), specFile,
                             QStringLiteral("--json"), QStringLiteral("--db"), m_db});
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.err.startsWith(QStringLiteral("using Hessian report ")), qPrintable(r.err));
    const QJsonObject out = parseObject(r.out);
    const QJsonObject allocation = out.value(QStringLiteral("allocation")).toObject();
    QVERIFY(allocation.value(QStringLiteral("size_bytes")).toDouble() <=
            out.value(QStringLiteral("budget_bytes")).toDouble());
    const QJsonObject bits = allocation.value(QStringLiteral("bits")).toObject();
    QCOMPARE(bits.value(QStringLiteral("conv1")).toInt(), 8);  // first/last policy: 8 bits
    QCOMPARE(bits.value(QStringLiteral("layer2.0.conv2")).toInt(),
             bits.value(QStringLiteral("layer2.0.downsample.0")).toInt());  // tied
    const QJsonArray frontier = out.value(QStringLiteral("frontier")).toArray();
    QVERIFY(frontier.size() > 2);
    for (int i = 1; i < frontier.size(); ++i) {
        QVERIFY(frontier[i].toObject().value(QStringLiteral("size_bytes")).toDouble() >
                frontier[i - 1].toObject().value(QStringLiteral("size_bytes")).toDouble());
    }

    // The spec file holds the allocation and trains.
    QFile file(specFile);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QJsonObject spec = QJsonDocument::fromJson(file.readAll()).object();
    QCOMPARE(
        spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("name")).toString(),
        QStringLiteral("lsq"));
    QCOMPARE(spec.value(QStringLiteral("init_checkpoint")).toString(), m_checkpoint);
    const QJsonObject layers =
        spec.value(QStringLiteral("quant")).toObject().value(QStringLiteral("layers")).toObject();
    QCOMPARE(layers.size(), 20);  // every layer but the fixed first and last
    QCOMPARE(layers.value(QStringLiteral("layer1.0.conv1"))
                 .toObject()
                 .value(QStringLiteral("weight_bits"))
                 .toInt(),
             bits.value(QStringLiteral("layer1.0.conv1")).toInt());
    const CliResult trained = cli({QStringLiteral("train"), QStringLiteral("--spec"), specFile,
                                   QStringLiteral("--db"), m_db, QStringLiteral("--out"), m_out});
    QVERIFY2(trained.exitCode == 0, qPrintable(describe(trained)));

    // A table, under a bit-op budget too.
    const CliResult table = cli({QStringLiteral("allocate"), QStringLiteral("--run"),
                                 QStringLiteral("1"), QStringLiteral("--budget-ratio"),
                                 QStringLiteral("8"), QStringLiteral("--bitops-budget"),
                                 QStringLiteral("0.05"), QStringLiteral("--db"), m_db});
    QVERIFY2(table.exitCode == 0, qPrintable(describe(table)));
    QVERIFY2(table.out.contains(QStringLiteral("G bit-ops")) &&
                 table.out.contains(QStringLiteral("\nlayer1.0.conv1 ")),
             qPrintable(table.out));
}

void TestCliHessian::allocateComputesAReportForALooseCheckpoint() {
    const QString noStore = m_dir.filePath(QStringLiteral("absent.sqlite"));
    const CliResult r = cli(QStringList{QStringLiteral("allocate"), QStringLiteral("--checkpoint"),
                                        m_checkpoint, QStringLiteral("--avg-bits"),
                                        QStringLiteral("4"), QStringLiteral("--db"), noStore} +
                            small());
    QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
    QVERIFY2(r.err.startsWith(
                 QStringLiteral("no stored Hessian report of this checkpoint: computing one\n")),
             qPrintable(r.err));
    QVERIFY2(r.out.startsWith(QStringLiteral("allocation for %1 under ").arg(m_checkpoint)),
             qPrintable(r.out));
    QVERIFY(!QFile::exists(noStore));  // no store is created for a loose checkpoint
}

void TestCliHessian::badInputExitCodes_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("message");
    QTest::newRow("unknown option") << QStringList{"hessian", "--bogus"} << 2
                                    << "quantscape-cli: hessian: unknown option --bogus\n";
    QTest::newRow("no target") << QStringList{"hessian"} << 2
                               << "quantscape-cli: hessian: give exactly one of --run RUN_ID and "
                                  "--checkpoint FILE\n";
    QTest::newRow("bad mode") << QStringList{"hessian", "--mode", "sideways"} << 2
                              << "quantscape-cli: --mode: float, dequantized, quantize-after or "
                                 "auto (got sideways)\n";
    QTest::newRow("k = 0") << QStringList{"hessian", "--run", "1", "--top-k", "0"} << 2
                           << "quantscape-cli: hessian: --samples, --batch-size, --top-k and "
                              "--trace-samples must be positive, --threads >= 0\n";
    QTest::newRow("bad bits") << QStringList{"allocate", "--bits", "2,x"} << 2
                              << "quantscape-cli: --bits: a comma-separated list of bit-widths "
                                 "in 2..8 (got 2,x)\n";
    QTest::newRow("no budget") << QStringList{"allocate", "--run", "1"} << 2
                               << "quantscape-cli: allocate: give exactly one positive budget: "
                                  "--budget-mb, --budget-ratio or --avg-bits\n";
    QTest::newRow("budget below the minimum")
        << QStringList{"allocate", "--run", "1", "--budget-mb", "0.001"} << 2
        << "quantscape-cli: allocate: size budget 0.001000 MB (1000 bytes) is below the smallest "
           "possible size ";
    QTest::newRow("corrupt checkpoint")
        << QStringList{"hessian", "--checkpoint", "CORRUPT"} << 3 << "quantscape-cli: ";
}

void TestCliHessian::badInputExitCodes() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, message);
    const QString corrupt = m_dir.filePath(QStringLiteral("corrupt.safetensors"));
    QFile file(corrupt);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write("\x10\x00\x00\x00\x00\x00\x00\x00{not json", 17);
    file.close();
    args.replaceInStrings(QStringLiteral("CORRUPT"), corrupt);
    const CliResult r = cli(args + QStringList{QStringLiteral("--db"), m_db});
    QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
    if (args.contains(corrupt)) {
        QVERIFY2(r.err.contains(corrupt), qPrintable(r.err));  // the message names the file
    }
}

QTEST_GUILESS_MAIN(TestCliHessian)
#include "TestCliHessian.moc"
