// JobControls: which actions are enabled through a run's life (idle, running, paused, ended),
// the run refused for an invalid spec or missing paths, start errors reported, and the queue
// starting the next spec when runFinished arrives (held after a cancel). JobQueue/JobQueueView
// reorder and remove; JobStatusWidget shows progress and ETA.
#include "FakeBackend.h"
#include "widgets/JobControls.h"
#include "widgets/JobQueue.h"
#include "widgets/JobQueueView.h"
#include "widgets/JobStatusWidget.h"
#include "widgets/RunConfigPanel.h"

#include <QAction>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTest>
#include <QToolButton>

using namespace qs::ui;
using qs::test::FakeBackend;

namespace {

struct Rig {
    FakeBackend backend;
    RunConfigPanel panel{&backend};
    JobControls jobs{&backend, &panel};

    /// Which of run/pause/resume/cancel are enabled, as a string like "R..." for checks.
    QString state() const {
        QString s;
        s += jobs.runAction()->isEnabled() ? QLatin1Char('R') : QLatin1Char('.');
        s += jobs.pauseAction()->isEnabled() ? QLatin1Char('P') : QLatin1Char('.');
        s += jobs.resumeAction()->isEnabled() ? QLatin1Char('S') : QLatin1Char('.');
        s += jobs.cancelAction()->isEnabled() ? QLatin1Char('C') : QLatin1Char('.');
        return s;
    }

    void setName(const QString& name) {
        qobject_cast<QLineEdit*>(panel.fieldWidget(QStringLiteral("name")))->setText(name);
    }
};

}  // namespace

class TestJobControls : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void shortcuts();
    void actionsThroughARunsLife();
    void runRefusedForInvalidSpec();
    void runRefusedForMissingPaths();
    void startErrorIsReported();
    void failedRunIsReported();
    void queueStartsNextWhenRunFinishes();
    void addToIdleQueueStartsAtOnce();
    void queueHeldAfterCancel();
    void queueReorderAndRemove();
    void statusWidgetShowsProgressAndEta();
};

void TestJobControls::shortcuts() {
    Rig rig;
    QCOMPARE(rig.jobs.runAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+R")));
    QCOMPARE(rig.jobs.pauseAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+P")));
    QCOMPARE(rig.jobs.resumeAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+Shift+P")));
    QCOMPARE(rig.jobs.cancelAction()->shortcut(), QKeySequence(QStringLiteral("Ctrl+.")));
    for (QAction* a : rig.jobs.actions()) {
        QVERIFY2(!a->icon().isNull(), qPrintable(a->text()));
    }
}

void TestJobControls::actionsThroughARunsLife() {
    Rig rig;
    QCOMPARE(rig.state(), QStringLiteral("R..."));
    rig.jobs.runAction()->trigger();
    QCOMPARE(rig.backend.startedSpecs().size(), 1);
    QCOMPARE(rig.backend.startedSpecs().first(), rig.panel.spec());
    QCOMPARE(rig.state(), QStringLiteral(".P.C"));
    QVERIFY(rig.jobs.addToQueueAction()->isEnabled());  // queueing stays possible

    rig.jobs.pauseAction()->trigger();
    QVERIFY(rig.backend.isPaused());
    QCOMPARE(rig.state(), QStringLiteral("..SC"));
    rig.jobs.resumeAction()->trigger();
    QVERIFY(!rig.backend.isPaused());
    QCOMPARE(rig.state(), QStringLiteral(".P.C"));

    // A progress report saying "paused" (the engine paused itself) is followed too.
    rig.backend.pauseRun();
    QCOMPARE(rig.state(), QStringLiteral("..SC"));
    rig.backend.resumeRun();

    rig.backend.streamLive(0, 10);
    rig.backend.finishLive(QStringLiteral("finished"));
    QCOMPARE(rig.state(), QStringLiteral("R..."));

    rig.jobs.runAction()->trigger();
    QCOMPARE(rig.state(), QStringLiteral(".P.C"));
    rig.jobs.cancelAction()->trigger();
    QVERIFY(!rig.backend.isRunning());
    QCOMPARE(rig.state(), QStringLiteral("R..."));
}

void TestJobControls::runRefusedForInvalidSpec() {
    Rig rig;
    qobject_cast<QDoubleSpinBox*>(rig.panel.fieldWidget(QStringLiteral("optim.lr")))->setValue(0.0);
    QCOMPARE(rig.state(), QStringLiteral("...."));
    QVERIFY(!rig.jobs.addToQueueAction()->isEnabled());
    rig.jobs.runAction()->trigger();  // disabled actions do nothing, whatever triggers them
    QCOMPARE(rig.backend.startedSpecs().size(), 0);
    qobject_cast<QDoubleSpinBox*>(rig.panel.fieldWidget(QStringLiteral("optim.lr")))->setValue(0.1);
    QCOMPARE(rig.state(), QStringLiteral("R..."));
}

void TestJobControls::runRefusedForMissingPaths() {
    Rig rig;
    qobject_cast<QLineEdit*>(rig.panel.fieldWidget(QStringLiteral("data.path")))
        ->setText(QStringLiteral("/no/such/data"));
    QCOMPARE(rig.state(), QStringLiteral("...."));
    QVERIFY(rig.panel.isMarked(rig.panel.fieldWidget(QStringLiteral("data.path"))));
    QCOMPARE(rig.backend.startedSpecs().size(), 0);
}

void TestJobControls::startErrorIsReported() {
    Rig rig;
    QSignalSpy errors(&rig.jobs, &JobControls::errorOccurred);
    rig.backend.failNextStart(QStringLiteral("run store is locked by another process"));
    rig.jobs.runAction()->trigger();
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toString(),
             QStringLiteral("Could not start \"smoke\": run store is locked by another process"));
    QCOMPARE(rig.state(), QStringLiteral("R..."));
}

void TestJobControls::failedRunIsReported() {
    Rig rig;
    QSignalSpy errors(&rig.jobs, &JobControls::errorOccurred);
    rig.jobs.runAction()->trigger();
    rig.backend.finishLive(QStringLiteral("failed"),
                           QStringLiteral("/data/train-images-idx3-ubyte.gz: truncated"));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(errors.at(0).at(0).toString(),
             QStringLiteral("Run 1 failed: /data/train-images-idx3-ubyte.gz: truncated"));
    QCOMPARE(rig.state(), QStringLiteral("R..."));
}

void TestJobControls::queueStartsNextWhenRunFinishes() {
    Rig rig;
    QSignalSpy errors(&rig.jobs, &JobControls::errorOccurred);
    rig.setName(QStringLiteral("A"));
    rig.jobs.runAction()->trigger();
    rig.setName(QStringLiteral("B"));
    rig.jobs.addToQueueAction()->trigger();
    rig.setName(QStringLiteral("C"));
    rig.jobs.addToQueueAction()->trigger();
    QCOMPARE(rig.jobs.queue()->count(), 2);
    QCOMPARE(rig.backend.startedSpecs().size(), 1);  // A still runs

    rig.backend.finishLive(QStringLiteral("finished"));
    QCOMPARE(rig.backend.startedSpecs().size(), 2);
    QCOMPARE(rig.backend.startedSpecs().last().value(QStringLiteral("name")).toString(),
             QStringLiteral("B"));
    QCOMPARE(rig.jobs.queue()->count(), 1);
    QVERIFY(rig.backend.isRunning());

    // A failed run does not stop the queue: the next spec is independent.
    rig.backend.finishLive(QStringLiteral("failed"), QStringLiteral("diverged"));
    QCOMPARE(errors.count(), 1);
    QCOMPARE(rig.backend.startedSpecs().size(), 3);
    QCOMPARE(rig.backend.startedSpecs().last().value(QStringLiteral("name")).toString(),
             QStringLiteral("C"));
    QVERIFY(rig.jobs.queue()->isEmpty());

    rig.backend.finishLive(QStringLiteral("finished"));
    QCOMPARE(rig.backend.startedSpecs().size(), 3);
    QVERIFY(!rig.backend.isRunning());
    QCOMPARE(rig.state(), QStringLiteral("R..."));
}

void TestJobControls::addToIdleQueueStartsAtOnce() {
    Rig rig;
    rig.jobs.addToQueueAction()->trigger();
    QCOMPARE(rig.backend.startedSpecs().size(), 1);
    QVERIFY(rig.jobs.queue()->isEmpty());
    // A queued spec that cannot start is reported and skipped.
    QSignalSpy errors(&rig.jobs, &JobControls::errorOccurred);
    rig.setName(QStringLiteral("second"));
    rig.jobs.addToQueueAction()->trigger();
    rig.setName(QStringLiteral("third"));
    rig.jobs.addToQueueAction()->trigger();
    rig.backend.failNextStart(QStringLiteral("disk full"));
    rig.backend.finishLive(QStringLiteral("finished"));
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.at(0).at(0).toString().contains(QStringLiteral("disk full")));
    QCOMPARE(rig.backend.startedSpecs().last().value(QStringLiteral("name")).toString(),
             QStringLiteral("third"));
}

void TestJobControls::queueHeldAfterCancel() {
    Rig rig;
    rig.jobs.runAction()->trigger();
    rig.setName(QStringLiteral("waiting"));
    rig.jobs.addToQueueAction()->trigger();
    QVERIFY(!rig.jobs.runQueueAction()->isEnabled());  // busy
    rig.jobs.cancelAction()->trigger();
    QVERIFY(rig.jobs.isQueueHeld());
    QCOMPARE(rig.backend.startedSpecs().size(), 1);
    QCOMPARE(rig.jobs.queue()->count(), 1);
    QVERIFY(rig.jobs.runQueueAction()->isEnabled());
    rig.jobs.runQueueAction()->trigger();
    QVERIFY(!rig.jobs.isQueueHeld());
    QCOMPARE(rig.backend.startedSpecs().size(), 2);
    QCOMPARE(rig.backend.startedSpecs().last().value(QStringLiteral("name")).toString(),
             QStringLiteral("waiting"));
}

void TestJobControls::queueReorderAndRemove() {
    JobQueue queue;
    QAction start(QStringLiteral("Run queue"));
    JobQueueView view(&queue, &start);
    QSignalSpy changed(&queue, &JobQueue::changed);
    for (const char* n : {"a", "b", "c"}) {
        QJsonObject s = FakeBackend::defaultSpec();
        s.insert(QStringLiteral("name"), QString::fromLatin1(n));
        queue.add(s);
    }
    QCOMPARE(changed.count(), 3);
    QListWidget* list = view.listWidget();
    QCOMPARE(list->count(), 3);
    QVERIFY(list->item(0)->text().startsWith(
        QStringLiteral("1.  a · lsq W4A4 · resnet20 on fashion-mnist · 1 epoch")));
    auto names = [&] {
        QString s;
        for (const QJsonObject& o : queue.specs()) {
            s += o.value(QStringLiteral("name")).toString();
        }
        return s;
    };
    auto button = [&](const QString& tip) {
        for (QToolButton* b : view.findChildren<QToolButton*>()) {
            if (b->toolTip() == tip || b->text() == tip) {
                return b;
            }
        }
        return static_cast<QToolButton*>(nullptr);
    };
    list->setCurrentRow(2);
    QVERIFY(!button(QStringLiteral("Run later"))->isEnabled());
    button(QStringLiteral("Run earlier"))->click();
    QCOMPARE(names(), QStringLiteral("acb"));
    QCOMPARE(list->currentRow(), 1);
    button(QStringLiteral("Run earlier"))->click();
    QCOMPARE(names(), QStringLiteral("cab"));
    QVERIFY(!button(QStringLiteral("Run earlier"))->isEnabled());
    button(QStringLiteral("Remove"))->click();
    QCOMPARE(names(), QStringLiteral("ab"));
    QCOMPARE(list->count(), 2);
    queue.move(0, 5);  // clamped
    QCOMPARE(names(), QStringLiteral("ba"));
    QCOMPARE(queue.takeFirst().value(QStringLiteral("name")).toString(), QStringLiteral("b"));
    queue.clear();
    QVERIFY(queue.isEmpty());
    QVERIFY(queue.takeFirst().isEmpty());
}

void TestJobControls::statusWidgetShowsProgressAndEta() {
    FakeBackend backend;
    JobStatusWidget status(&backend);
    QCOMPARE(status.statusText(), QStringLiteral("Idle"));
    JobProgress p;
    p.runId = 3;
    p.phase = QStringLiteral("training");
    p.epoch = 1;
    p.totalEpochs = 3;
    p.step = 250;
    p.totalSteps = 1000;
    p.elapsedSeconds = 30;
    p.etaSeconds = 65;
    Q_EMIT backend.progressChanged(p);
    QCOMPARE(status.progressBar()->value(), 250);
    QCOMPARE(status.progressBar()->maximum(), 1000);
    QCOMPARE(status.statusText(),
             QStringLiteral("Training · epoch 2/3 · step 250/1000 · ETA 1:05"));
    p.etaSeconds = -1;
    Q_EMIT backend.progressChanged(p);
    QVERIFY(status.statusText().endsWith(QStringLiteral("elapsed 0:30")));
    QCOMPARE(JobStatusWidget::durationText(3725), QStringLiteral("1:02:05"));
    QCOMPARE(JobStatusWidget::durationText(-1), QString());
    RunEnd end;
    end.runId = 3;
    end.status = QStringLiteral("finished");
    end.finalMetrics.insert(QStringLiteral("eval/acc"), 0.9012);
    Q_EMIT backend.runFinished(end);
    QCOMPARE(status.statusText(), QStringLiteral("Run 3 finished · eval acc 90.12 %"));
}

QTEST_MAIN(TestJobControls)
#include "TestJobControls.moc"
