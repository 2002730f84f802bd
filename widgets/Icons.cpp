#include "widgets/Icons.h"

#include <QIconEngine>
#include <QPainter>
#include <QPainterPath>
#include <QPixmap>

namespace qs::ui {
namespace {

const QColor kGreen(0x2e, 0x7d, 0x32);
const QColor kAmber(0xe0, 0x8e, 0x0b);
const QColor kRed(0xc6, 0x28, 0x28);
const QColor kBlue(0x15, 0x65, 0xc0);
const QColor kSlate(0x45, 0x5a, 0x64);

/// Draws one icon on a 24 x 24 canvas; the engine scales it to the requested rectangle.
void drawIcon(QPainter& p, Icons::Kind kind) {
    p.setRenderHint(QPainter::Antialiasing);
    auto pen = [&](const QColor& c, double w) {
        p.setPen(QPen(c, w, Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    };
    auto play = [&](const QColor& c, double x0) {
        QPainterPath tri;
        tri.moveTo(x0, 4.5);
        tri.lineTo(x0 + 13.5, 12);
        tri.lineTo(x0, 19.5);
        tri.closeSubpath();
        pen(c.darker(115), 1.2);
        p.setBrush(c);
        p.drawPath(tri);
    };
    switch (kind) {
        case Icons::Run:
            play(kGreen, 6.5);
            break;
        case Icons::Pause:
            p.setPen(Qt::NoPen);
            p.setBrush(kAmber);
            p.drawRoundedRect(QRectF(6, 5, 4.2, 14), 1.2, 1.2);
            p.drawRoundedRect(QRectF(13.8, 5, 4.2, 14), 1.2, 1.2);
            break;
        case Icons::Resume:
            p.setPen(Qt::NoPen);
            p.setBrush(kAmber);
            p.drawRoundedRect(QRectF(4.5, 5, 3.6, 14), 1.0, 1.0);
            play(kGreen, 10);
            break;
        case Icons::Cancel:
            pen(kRed.darker(115), 1.2);
            p.setBrush(kRed);
            p.drawRoundedRect(QRectF(5.5, 5.5, 13, 13), 2.2, 2.2);
            break;
        case Icons::QueueAdd:
            pen(kSlate, 2.0);
            p.drawLine(QPointF(4, 6.5), QPointF(14, 6.5));
            p.drawLine(QPointF(4, 11.5), QPointF(14, 11.5));
            p.drawLine(QPointF(4, 16.5), QPointF(10, 16.5));
            pen(kGreen, 2.4);
            p.drawLine(QPointF(17, 12.5), QPointF(17, 21));
            p.drawLine(QPointF(12.75, 16.75), QPointF(21.25, 16.75));
            break;
        case Icons::Open: {
            QPainterPath back;
            back.moveTo(3, 6);
            back.lineTo(9, 6);
            back.lineTo(11, 8);
            back.lineTo(20, 8);
            back.lineTo(20, 18.5);
            back.lineTo(3, 18.5);
            back.closeSubpath();
            pen(QColor(0xb2, 0x7d, 0x12), 1.2);
            p.setBrush(QColor(0xf2, 0xc1, 0x4e));
            p.drawPath(back);
            QPainterPath front;
            front.moveTo(3, 18.5);
            front.lineTo(6, 11);
            front.lineTo(22, 11);
            front.lineTo(19.5, 18.5);
            front.closeSubpath();
            p.setBrush(QColor(0xf8, 0xd7, 0x7a));
            p.drawPath(front);
            break;
        }
        case Icons::Compare:
            pen(kBlue, 2.0);
            p.setBrush(Qt::NoBrush);
            {
                QPainterPath a;
                a.moveTo(3.5, 18);
                a.cubicTo(8, 8, 12, 7, 20.5, 5.5);
                p.drawPath(a);
            }
            pen(kAmber, 2.0);
            {
                QPainterPath b;
                b.moveTo(3.5, 19.5);
                b.cubicTo(9, 15, 14, 13, 20.5, 12);
                p.drawPath(b);
            }
            pen(kSlate, 1.2);
            p.drawLine(QPointF(3, 21), QPointF(21, 21));
            p.drawLine(QPointF(3, 3), QPointF(3, 21));
            break;
        case Icons::Save:
        case Icons::Load: {
            // A tray with an arrow: down into it (save), up out of it (load).
            pen(kSlate, 2.0);
            p.setBrush(Qt::NoBrush);
            QPainterPath tray;
            tray.moveTo(4, 14);
            tray.lineTo(4, 20);
            tray.lineTo(20, 20);
            tray.lineTo(20, 14);
            p.drawPath(tray);
            pen(kind == Icons::Save ? kBlue : kGreen, 2.2);
            if (kind == Icons::Save) {
                p.drawLine(QPointF(12, 3.5), QPointF(12, 15));
                p.drawLine(QPointF(7.5, 10.5), QPointF(12, 15));
                p.drawLine(QPointF(16.5, 10.5), QPointF(12, 15));
            } else {
                p.drawLine(QPointF(12, 16), QPointF(12, 4));
                p.drawLine(QPointF(7.5, 8.5), QPointF(12, 4));
                p.drawLine(QPointF(16.5, 8.5), QPointF(12, 4));
            }
            break;
        }
        case Icons::Delete:
            pen(kRed, 1.8);
            p.setBrush(Qt::NoBrush);
            p.drawLine(QPointF(4.5, 6.5), QPointF(19.5, 6.5));
            p.drawLine(QPointF(9.5, 6.5), QPointF(10.5, 3.8));
            p.drawLine(QPointF(10.5, 3.8), QPointF(13.5, 3.8));
            p.drawLine(QPointF(13.5, 3.8), QPointF(14.5, 6.5));
            {
                QPainterPath can;
                can.moveTo(6.5, 6.5);
                can.lineTo(7.5, 20);
                can.lineTo(16.5, 20);
                can.lineTo(17.5, 6.5);
                p.drawPath(can);
            }
            pen(kRed, 1.4);
            p.drawLine(QPointF(10.2, 10), QPointF(10.5, 16.5));
            p.drawLine(QPointF(13.8, 10), QPointF(13.5, 16.5));
            break;
        case Icons::Rename:
            pen(kSlate, 1.6);
            p.setBrush(Qt::NoBrush);
            p.drawLine(QPointF(3.5, 20.5), QPointF(20.5, 20.5));
            pen(kBlue.darker(110), 1.2);
            p.setBrush(kBlue);
            {
                QPainterPath pencil;
                pencil.moveTo(6, 17.5);
                pencil.lineTo(7, 13.5);
                pencil.lineTo(16, 4.5);
                pencil.lineTo(19, 7.5);
                pencil.lineTo(10, 16.5);
                pencil.closeSubpath();
                p.drawPath(pencil);
            }
            break;
        case Icons::Clear:
            pen(kSlate, 2.0);
            p.setBrush(Qt::NoBrush);
            p.drawEllipse(QRectF(4, 4, 16, 16));
            p.drawLine(QPointF(7.5, 16.5), QPointF(16.5, 7.5));
            break;
        case Icons::AppLogo: {
            // A staircase (quantized values) over a smooth curve: the app's subject in one glyph.
            p.setPen(Qt::NoPen);
            p.setBrush(kBlue);
            p.drawRoundedRect(QRectF(1, 1, 22, 22), 5, 5);
            pen(QColor(255, 255, 255, 140), 1.4);
            p.setBrush(Qt::NoBrush);
            QPainterPath curve;
            curve.moveTo(4, 19);
            curve.cubicTo(9, 18, 14, 6, 20, 5);
            p.drawPath(curve);
            pen(Qt::white, 2.0);
            QPainterPath stairs;
            stairs.moveTo(4, 19);
            stairs.lineTo(8, 19);
            stairs.lineTo(8, 15);
            stairs.lineTo(12, 15);
            stairs.lineTo(12, 10);
            stairs.lineTo(16, 10);
            stairs.lineTo(16, 6);
            stairs.lineTo(20, 6);
            p.drawPath(stairs);
            break;
        }
    }
}

class PainterIconEngine : public QIconEngine {
public:
    explicit PainterIconEngine(Icons::Kind kind) : m_kind(kind) {}

    void paint(QPainter* painter, const QRect& rect, QIcon::Mode mode, QIcon::State) override {
        painter->save();
        if (mode == QIcon::Disabled) {
            painter->setOpacity(0.35);
        }
        const double side = std::min(rect.width(), rect.height());
        painter->translate(rect.x() + (rect.width() - side) / 2.0,
                           rect.y() + (rect.height() - side) / 2.0);
        painter->scale(side / 24.0, side / 24.0);
        drawIcon(*painter, m_kind);
        painter->restore();
    }

    QPixmap pixmap(const QSize& size, QIcon::Mode mode, QIcon::State state) override {
        QPixmap pm(size);
        pm.fill(Qt::transparent);
        QPainter p(&pm);
        paint(&p, QRect(QPoint(0, 0), size), mode, state);
        return pm;
    }

    QSize actualSize(const QSize& size, QIcon::Mode, QIcon::State) override { return size; }
    QIconEngine* clone() const override { return new PainterIconEngine(m_kind); }
    QString key() const override { return QStringLiteral("qs-painter"); }

private:
    Icons::Kind m_kind;
};

}  // namespace

QIcon Icons::icon(Kind kind) {
    return QIcon(new PainterIconEngine(kind));
}

QString Icons::name(Kind kind) {
    switch (kind) {
        case Run:
            return QStringLiteral("run");
        case Pause:
            return QStringLiteral("pause");
        case Resume:
            return QStringLiteral("resume");
        case Cancel:
            return QStringLiteral("cancel");
        case QueueAdd:
            return QStringLiteral("queue-add");
        case Open:
            return QStringLiteral("open");
        case Compare:
            return QStringLiteral("compare");
        case Save:
            return QStringLiteral("save");
        case Load:
            return QStringLiteral("load");
        case Delete:
            return QStringLiteral("delete");
        case Rename:
            return QStringLiteral("rename");
        case Clear:
            return QStringLiteral("clear");
        case AppLogo:
            return QStringLiteral("quantscape");
    }
    return {};
}

}  // namespace qs::ui
