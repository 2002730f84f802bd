#include "widgets/JobQueue.h"

#include "widgets/TextFormat.h"

#include <algorithm>

namespace qs::ui {

JobQueue::JobQueue(QObject* parent) : QObject(parent) {}

void JobQueue::add(const QJsonObject& spec) {
    m_specs.push_back(spec);
    Q_EMIT changed();
}

void JobQueue::remove(int index) {
    if (index < 0 || index >= m_specs.size()) {
        return;
    }
    m_specs.removeAt(index);
    Q_EMIT changed();
}

void JobQueue::move(int from, int to) {
    if (from < 0 || from >= m_specs.size()) {
        return;
    }
    to = std::clamp(to, 0, int(m_specs.size()) - 1);
    if (from == to) {
        return;
    }
    m_specs.move(from, to);
    Q_EMIT changed();
}

QJsonObject JobQueue::takeFirst() {
    if (m_specs.isEmpty()) {
        return {};
    }
    const QJsonObject first = m_specs.takeFirst();
    Q_EMIT changed();
    return first;
}

void JobQueue::clear() {
    if (m_specs.isEmpty()) {
        return;
    }
    m_specs.clear();
    Q_EMIT changed();
}

QString JobQueue::describe(const QJsonObject& spec) {
    const QJsonObject model = spec.value(QStringLiteral("model")).toObject();
    const QJsonObject data = spec.value(QStringLiteral("data")).toObject();
    const QJsonObject quant = spec.value(QStringLiteral("quant")).toObject();
    const QJsonObject optim = spec.value(QStringLiteral("optim")).toObject();
    const QString method =
        spec.value(QStringLiteral("method")).toObject().value(QStringLiteral("name")).toString();
    QString bits;
    if (method != QLatin1String("fp")) {
        bits = QStringLiteral(" W%1A%2")
                   .arg(quant.value(QStringLiteral("weight_bits")).toInt())
                   .arg(quant.value(QStringLiteral("act_bits")).toInt());
    }
    const int epochs = optim.value(QStringLiteral("epochs")).toInt();
    return QStringLiteral("%1 · %2%3 · %4 on %5 · %6")
        .arg(spec.value(QStringLiteral("name")).toString(), method, bits,
             model.value(QStringLiteral("arch")).toString(),
             data.value(QStringLiteral("dataset")).toString(),
             countNoun(epochs, QObject::tr("epoch"), QObject::tr("epochs")));
}

}  // namespace qs::ui
