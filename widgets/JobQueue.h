// Specs waiting to run, in order. JobControls starts the first one whenever the engine becomes
// free; JobQueueView shows and reorders them.
#pragma once

#include <QJsonObject>
#include <QObject>
#include <QVector>

namespace qs::ui {

class JobQueue : public QObject {
    Q_OBJECT
public:
    explicit JobQueue(QObject* parent = nullptr);

    int count() const { return m_specs.size(); }
    bool isEmpty() const { return m_specs.isEmpty(); }
    QJsonObject at(int index) const { return m_specs.value(index); }
    const QVector<QJsonObject>& specs() const { return m_specs; }

    void add(const QJsonObject& spec);
    void remove(int index);
    /// Moves the entry at from to position to (both clamped to the queue).
    void move(int from, int to);
    /// Removes and returns the first spec (empty object when the queue is empty).
    QJsonObject takeFirst();
    void clear();

    /// One line describing a spec: "name · lsq W4A4 · resnet20 on fashion-mnist · 3 epochs".
    static QString describe(const QJsonObject& spec);

Q_SIGNALS:
    void changed();

private:
    QVector<QJsonObject> m_specs;
};

}  // namespace qs::ui
