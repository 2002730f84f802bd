// quantscape-cli export end to end: the built binary trains a tiny LSQ run, exports it in the
// three formats (each recorded in the store with its SHA-256, which the run report then shows),
// and refuses bad usage (exit 2) and bad files (exit 3).
#include "CliProcess.h"
#include "engine/io/Sha256.h"
#include "engine/store/RunStore.h"
#include "support/TinyDataset.h"
#include "support/TinySpecJson.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QTest>

using namespace qs::test;

class TestCliExport : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void exportsOfARunAreRecordedAndReported();
    void usageAndFileErrors_data();
    void usageAndFileErrors();

private:
    CliResult cli(const QStringList& args) const {
        return finishCli(*startCli(args, m_dir.filePath(QStringLiteral("xdg")),
                                   m_dir.filePath(QStringLiteral("home")), m_dir.path()),
                         args, 60000);
    }
    QStringList db() const { return {QStringLiteral("--db"), m_db}; }

    QTemporaryDir m_dir;
    QString m_db;
    QString m_checkpoint;
};

void TestCliExport::initTestCase() {
    QVERIFY(m_dir.isValid());
    QVERIFY2(QFile::exists(kCli), qPrintable(kCli));
    const QString data = m_dir.filePath(QStringLiteral("tiny"));
    QVERIFY(QDir().mkpath(data));
    writeTinyDataset(data.toStdString());
    m_db = m_dir.filePath(QStringLiteral("runs.sqlite"));
    const QString spec = m_dir.filePath(QStringLiteral("spec.json"));
    QFile file(spec);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(QJsonDocument(tinySpecJson(data, QStringLiteral("w4a4"), QStringLiteral("lsq"), 1))
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

void TestCliExport::exportsOfARunAreRecordedAndReported() {
    const QStringList formats{QStringLiteral("safetensors"), QStringLiteral("encodings"),
                              QStringLiteral("onnx")};
    const QStringList files{QStringLiteral("w4a4.safetensors"), QStringLiteral("w4a4.json"),
                            QStringLiteral("w4a4.onnx")};
    for (int i = 0; i < formats.size(); ++i) {
        const QString out = m_dir.filePath(files[i]);
        const CliResult r =
            cli(QStringList{QStringLiteral("export"), QStringLiteral("--run"), QStringLiteral("1"),
                            QStringLiteral("--format"), formats[i], QStringLiteral("--out"), out} +
                db());
        QVERIFY2(r.exitCode == 0, qPrintable(describe(r)));
        QVERIFY2(r.out.startsWith(QStringLiteral("exported %1: %2 (%3 bytes")
                                      .arg(formats[i], out)
                                      .arg(QFile(out).size())),
                 qPrintable(r.out));
        const QString sha = QString::fromStdString(qs::io::sha256File(out.toStdString()));
        QVERIFY2(r.out.endsWith(QStringLiteral("\nsha256 %1\n").arg(sha)), qPrintable(r.out));
    }
    // 22 quantized weights (ResNet-20 with its first and last layer at 8 bits) and 44 quantizers.
    const CliResult again =
        cli(QStringList{QStringLiteral("export"), QStringLiteral("--checkpoint"), m_checkpoint,
                        QStringLiteral("--format"), QStringLiteral("safetensors"),
                        QStringLiteral("--out"), m_dir.filePath(QStringLiteral("loose.st"))});
    QVERIFY2(again.exitCode == 0, qPrintable(describe(again)));
    QVERIFY2(again.out.contains(QRegularExpression(
                 QStringLiteral("float32 parameters \\d+ bytes, \\d+\\.\\d\\dx smaller; 22 "
                                "quantized weights\\)"))),
             qPrintable(again.out));

    // The run's exports are in the store (the loose checkpoint's is not), and its report shows
    // their checksums.
    const auto store = qs::store::RunStore::open(m_db.toStdString());
    const auto artifacts = store->artifacts(1);
    QCOMPARE(artifacts.size(), std::size_t(3));
    for (int i = 0; i < 3; ++i) {
        QCOMPARE(QString::fromStdString(artifacts[std::size_t(i)].kind), formats[i]);
        QCOMPARE(QString::fromStdString(artifacts[std::size_t(i)].path),
                 QDir(m_dir.filePath(files[i])).absolutePath());
    }
    const QString html = m_dir.filePath(QStringLiteral("report.html"));
    const CliResult report = cli(QStringList{QStringLiteral("report"), QStringLiteral("--run"),
                                             QStringLiteral("1"), QStringLiteral("--out"), html} +
                                 db());
    QVERIFY2(report.exitCode == 0, qPrintable(describe(report)));
    QFile f(html);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    for (const auto& a : artifacts) {
        QVERIFY2(text.contains(QString::fromStdString(a.sha256)), a.path.c_str());
    }
}

void TestCliExport::usageAndFileErrors_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<int>("exitCode");
    QTest::addColumn<QString>("error");
    QTest::newRow("unknown format")
        << QStringList{"export", "--run", "1", "--format", "tflite", "--out", "x"} << 2
        << QStringLiteral("export: --format safetensors, encodings or onnx (got tflite)");
    QTest::newRow("run and checkpoint")
        << QStringList{"export", "--run", "1", "--checkpoint", "c", "--format",
                       "onnx",   "--out", "x"}
        << 2 << QStringLiteral("export needs --run RUN_ID or --checkpoint FILE (one of them)");
    QTest::newRow("no output") << QStringList{"export", "--run", "1", "--format", "onnx"} << 2
                               << QStringLiteral("export needs --out FILE");
    QTest::newRow("missing checkpoint")
        << QStringList{"export",   "--checkpoint", "/nonexistent/c.safetensors",
                       "--format", "safetensors",  "--out",
                       "x"}
        << 3 << QStringLiteral("/nonexistent/c.safetensors");
    QTest::newRow("unknown run") << QStringList{"export", "--run", "9", "--format",
                                                "onnx",   "--out", "x"}
                                 << 3 << QStringLiteral("no run with id 9 in ");
}

void TestCliExport::usageAndFileErrors() {
    QFETCH(QStringList, args);
    QFETCH(int, exitCode);
    QFETCH(QString, error);
    const CliResult r = cli(args + db());
    QVERIFY2(r.exitCode == exitCode, qPrintable(describe(r)));
    QVERIFY2(r.err.contains(error), qPrintable(r.err));
}

QTEST_GUILESS_MAIN(TestCliExport)
#include "TestCliExport.moc"
