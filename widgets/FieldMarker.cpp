#include "widgets/FieldMarker.h"

#include <QEvent>
#include <QPainter>
#include <QWidget>

namespace qs::ui {
namespace {

class MarkerOverlay : public QWidget {
public:
    explicit MarkerOverlay(QWidget* parent) : QWidget(parent) {
        setAttribute(Qt::WA_TransparentForMouseEvents);
        setAttribute(Qt::WA_NoSystemBackground);
        setFocusPolicy(Qt::NoFocus);
        setObjectName(QStringLiteral("qsFieldMarker"));
    }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.setRenderHint(QPainter::Antialiasing);
        p.setPen(QPen(QColor(0xd3, 0x2f, 0x2f), 2.0));
        p.setBrush(Qt::NoBrush);
        p.drawRoundedRect(QRectF(rect()).adjusted(1, 1, -1, -1), 3, 3);
    }
};

constexpr int kMargin = 2;

}  // namespace

FieldMarker::FieldMarker(QObject* parent) : QObject(parent) {}

FieldMarker::~FieldMarker() {
    clear();
}

void FieldMarker::mark(QWidget* widget, const QString& message) {
    if (!widget || !widget->parentWidget()) {
        return;
    }
    auto it = m_marks.find(widget);
    if (it == m_marks.end()) {
        Mark m;
        m.originalToolTip = widget->toolTip();
        m.overlay = new MarkerOverlay(widget->parentWidget());
        it = m_marks.insert(widget, m);
        widget->installEventFilter(this);
        connect(widget, &QObject::destroyed, this, [this, widget] { m_marks.remove(widget); });
    }
    widget->setProperty("qsInvalid", true);
    widget->setToolTip(message);
    place(widget);
}

void FieldMarker::clear() {
    for (auto it = m_marks.begin(); it != m_marks.end(); ++it) {
        QWidget* w = it.key();
        w->removeEventFilter(this);
        disconnect(w, &QObject::destroyed, this, nullptr);
        w->setProperty("qsInvalid", false);
        w->setToolTip(it->originalToolTip);
        delete it->overlay.data();
    }
    m_marks.clear();
}

bool FieldMarker::isMarked(const QWidget* widget) const {
    return m_marks.contains(const_cast<QWidget*>(widget));
}

void FieldMarker::place(QWidget* target) {
    const auto it = m_marks.find(target);
    if (it == m_marks.end() || !it->overlay) {
        return;
    }
    QWidget* overlay = it->overlay;
    if (overlay->parentWidget() != target->parentWidget()) {
        overlay->setParent(target->parentWidget());
    }
    overlay->setGeometry(target->geometry().adjusted(-kMargin, -kMargin, kMargin, kMargin));
    overlay->setVisible(target->isVisibleTo(target->parentWidget()));
    overlay->raise();
}

bool FieldMarker::eventFilter(QObject* watched, QEvent* event) {
    switch (event->type()) {
        case QEvent::Move:
        case QEvent::Resize:
        case QEvent::Show:
        case QEvent::Hide:
        case QEvent::ParentChange:
            place(static_cast<QWidget*>(watched));
            break;
        default:
            break;
    }
    return QObject::eventFilter(watched, event);
}

}  // namespace qs::ui
