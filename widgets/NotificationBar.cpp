#include "widgets/NotificationBar.h"

#include <QDesktopServices>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QStyle>
#include <QToolButton>
#include <QUrl>

namespace qs::ui {
namespace {

struct Colors {
    QColor fill;
    QColor border;
    QColor text;
};

Colors colorsFor(NotificationBar::Kind kind) {
    switch (kind) {
        case NotificationBar::Error:
            return {QColor(0xfd, 0xec, 0xea), QColor(0xef, 0x9a, 0x9a), QColor(0x8e, 0x1b, 0x1b)};
        case NotificationBar::Warning:
            return {QColor(0xff, 0xf4, 0xe0), QColor(0xff, 0xcc, 0x80), QColor(0x7a, 0x4a, 0x00)};
        case NotificationBar::Info:
            break;
    }
    return {QColor(0xe3, 0xf2, 0xfd), QColor(0x90, 0xca, 0xf9), QColor(0x0d, 0x47, 0xa1)};
}

}  // namespace

NotificationBar::NotificationBar(QWidget* parent)
    : QWidget(parent),
      m_icon(new QLabel),
      m_text(new QLabel),
      m_open(new QToolButton),
      m_close(new QToolButton) {
    setObjectName(QStringLiteral("NotificationBar"));
    m_text->setObjectName(QStringLiteral("notificationText"));
    m_text->setWordWrap(true);
    m_text->setTextFormat(Qt::PlainText);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_close->setObjectName(QStringLiteral("notificationClose"));
    m_close->setAutoRaise(true);
    m_close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    m_close->setToolTip(tr("Dismiss"));
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(10, 6, 6, 6);
    layout->setSpacing(8);
    layout->addWidget(m_icon, 0, Qt::AlignTop);
    layout->addWidget(m_text, 1);
    m_open->setObjectName(QStringLiteral("notificationOpen"));
    m_open->setText(tr("Open"));
    m_open->setToolTip(tr("Open the file with the desktop's application for it"));
    m_open->hide();
    layout->addWidget(m_open, 0, Qt::AlignTop);
    layout->addWidget(m_close, 0, Qt::AlignTop);
    connect(m_close, &QToolButton::clicked, this, &NotificationBar::dismiss);
    connect(m_open, &QToolButton::clicked, this,
            [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_path)); });
    hide();
}

QString NotificationBar::text() const {
    return m_text->text();
}

void NotificationBar::showFile(const QString& text, const QString& path) {
    showMessage(Info, text);
    m_path = path;
    m_open->show();
}

void NotificationBar::showMessage(Kind kind, const QString& text) {
    m_path.clear();
    m_open->hide();
    m_repeats = (text == m_lastText && isVisible()) ? m_repeats + 1 : 1;
    m_lastText = text;
    m_kind = kind;
    const QStyle::StandardPixmap icon = kind == Error     ? QStyle::SP_MessageBoxCritical
                                        : kind == Warning ? QStyle::SP_MessageBoxWarning
                                                          : QStyle::SP_MessageBoxInformation;
    const int side = fontMetrics().height() + 2;
    m_icon->setPixmap(style()->standardIcon(icon).pixmap(side, side));
    m_text->setText(m_repeats > 1 ? tr("%1 (×%2)").arg(text).arg(m_repeats) : text);
    QPalette pal = m_text->palette();
    pal.setColor(QPalette::WindowText, colorsFor(kind).text);
    m_text->setPalette(pal);
    show();
    update();
}

void NotificationBar::dismiss() {
    m_repeats = 0;
    m_path.clear();
    m_open->hide();
    m_lastText.clear();
    hide();
}

void NotificationBar::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const Colors c = colorsFor(m_kind);
    p.setRenderHint(QPainter::Antialiasing);
    p.setPen(c.border);
    p.setBrush(c.fill);
    p.drawRoundedRect(QRectF(rect()).adjusted(2.5, 2.5, -2.5, -2.5), 4, 4);
}

}  // namespace qs::ui
