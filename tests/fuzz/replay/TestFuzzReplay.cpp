// Replays every committed fuzz input (tests/fuzz/corpus/<target>/ and
// tests/fuzz/regressions/<target>/) through the fuzz targets' own LLVMFuzzerTestOneInput, in the
// normal build without libFuzzer: each input that once crashed a reader stays a test. A crash, an
// abort from a target's invariant check or an undocumented exception fails the run (under
// `make sanitize` also a sanitizer report). The CMake file renames each target's entry point to
// qsFuzz_<target> so all of them link into one executable.
#include <QDir>
#include <QFile>
#include <QtTest>

#include <cstddef>
#include <cstdint>
#include <exception>

extern "C" {
int qsFuzz_safetensors(const uint8_t* data, std::size_t size);
int qsFuzz_idx(const uint8_t* data, std::size_t size);
int qsFuzz_cifar(const uint8_t* data, std::size_t size);
int qsFuzz_runspec(const uint8_t* data, std::size_t size);
int qsFuzz_glue_tsv(const uint8_t* data, std::size_t size);
int qsFuzz_wordpiece(const uint8_t* data, std::size_t size);
int qsFuzz_spam_text(const uint8_t* data, std::size_t size);
}

namespace {

using FuzzTarget = int (*)(const uint8_t*, std::size_t);

struct Target {
    const char* name;
    FuzzTarget run;
};

const Target kTargets[] = {
    {"safetensors", qsFuzz_safetensors},
    {"idx", qsFuzz_idx},
    {"cifar", qsFuzz_cifar},
    {"runspec", qsFuzz_runspec},
    {"glue_tsv", qsFuzz_glue_tsv},
    {"wordpiece", qsFuzz_wordpiece},
    {"spam_text", qsFuzz_spam_text},
};

// The files of one input folder, sorted; empty when the folder does not exist.
QStringList inputsIn(const QString& folder) {
    QStringList paths;
    const QDir dir(folder);
    for (const QString& name : dir.entryList(QDir::Files, QDir::Name)) {
        paths << dir.filePath(name);
    }
    return paths;
}

}  // namespace

class TestFuzzReplay : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Every target has a seed corpus to start from.
    void corpusPresent_data() {
        QTest::addColumn<QString>("target");
        for (const Target& t : kTargets) {
            QTest::newRow(t.name) << QString::fromLatin1(t.name);
        }
    }
    void corpusPresent() {
        QFETCH(QString, target);
        QVERIFY2(!inputsIn(QStringLiteral(QS_FUZZ_DIR "/corpus/") + target).isEmpty(),
                 qPrintable("no seed corpus for " + target));
    }

    void replay_data() {
        QTest::addColumn<int>("target");
        QTest::addColumn<QString>("path");
        for (int i = 0; i < int(std::size(kTargets)); ++i) {
            for (const char* kind : {"corpus", "regressions"}) {
                const QString folder =
                    QStringLiteral(QS_FUZZ_DIR "/%1/%2").arg(kind, kTargets[i].name);
                for (const QString& path : inputsIn(folder)) {
                    const QString tag =
                        QStringLiteral("%1/%2/%3")
                            .arg(kTargets[i].name, kind, QFileInfo(path).fileName());
                    QTest::newRow(qPrintable(tag)) << i << path;
                }
            }
        }
    }
    void replay() {
        QFETCH(int, target);
        QFETCH(QString, path);
        QFile file(path);
        QVERIFY2(file.open(QIODevice::ReadOnly), qPrintable(file.errorString()));
        const QByteArray bytes = file.readAll();
        try {
            QCOMPARE(kTargets[target].run(reinterpret_cast<const uint8_t*>(bytes.constData()),
                                          std::size_t(bytes.size())),
                     0);
        } catch (const std::exception& e) {
            QFAIL(qPrintable(QStringLiteral("undocumented exception escaped: ") + e.what()));
        }
    }
};

QTEST_APPLESS_MAIN(TestFuzzReplay)
#include "TestFuzzReplay.moc"
