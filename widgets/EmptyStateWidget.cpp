#include "widgets/EmptyStateWidget.h"

#include <QLabel>
#include <QVBoxLayout>

namespace qs::ui {

EmptyStateWidget::EmptyStateWidget(QWidget* parent)
    : QWidget(parent), m_title(new QLabel), m_hint(new QLabel) {
    setObjectName(QStringLiteral("EmptyState"));
    QFont big = m_title->font();
    big.setPointSizeF(big.pointSizeF() * 1.25);
    big.setBold(true);
    m_title->setFont(big);
    m_title->setObjectName(QStringLiteral("emptyTitle"));
    m_hint->setObjectName(QStringLiteral("emptyHint"));
    for (QLabel* l : {m_title, m_hint}) {
        l->setAlignment(Qt::AlignCenter);
        l->setWordWrap(true);
        l->setTextFormat(Qt::PlainText);
        QPalette pal = l->palette();
        pal.setColor(QPalette::WindowText, pal.color(QPalette::PlaceholderText));
        l->setPalette(pal);
    }
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(24, 24, 24, 24);
    layout->setSpacing(6);
    layout->addStretch(1);
    layout->addWidget(m_title);
    layout->addWidget(m_hint);
    layout->addStretch(2);
}

void EmptyStateWidget::setText(const QString& title, const QString& hint) {
    m_title->setText(title);
    m_hint->setText(hint);
    m_hint->setVisible(!hint.isEmpty());
}

QString EmptyStateWidget::title() const {
    return m_title->text();
}

QString EmptyStateWidget::hint() const {
    return m_hint->text();
}

}  // namespace qs::ui
