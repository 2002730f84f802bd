#include "widgets/CollapsibleSection.h"

#include <QFrame>
#include <QStyle>
#include <QToolButton>
#include <QVBoxLayout>

namespace qs::ui {

CollapsibleSection::CollapsibleSection(const QString& title, QWidget* content, QWidget* parent)
    : QWidget(parent), m_header(new QToolButton), m_content(content) {
    setObjectName(QStringLiteral("section.") + title);
    m_header->setObjectName(QStringLiteral("sectionHeader"));
    m_header->setText(title);
    m_header->setCheckable(true);
    m_header->setChecked(true);
    m_header->setArrowType(Qt::DownArrow);
    m_header->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_header->setAutoRaise(true);
    m_header->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    QFont f = m_header->font();
    f.setBold(true);
    m_header->setFont(f);

    auto* rule = new QFrame;
    rule->setFrameShape(QFrame::HLine);
    rule->setFrameShadow(QFrame::Sunken);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_header);
    layout->addWidget(rule);
    layout->addWidget(m_content);

    connect(m_header, &QToolButton::toggled, this, &CollapsibleSection::setExpanded);
}

QString CollapsibleSection::title() const {
    return m_header->text();
}

bool CollapsibleSection::isExpanded() const {
    return m_header->isChecked();
}

void CollapsibleSection::setExpanded(bool expanded) {
    if (m_header->isChecked() != expanded) {
        m_header->setChecked(expanded);  // comes back here through toggled
        return;
    }
    if (!m_warning) {
        m_header->setArrowType(expanded ? Qt::DownArrow : Qt::RightArrow);
    }
    m_content->setVisible(expanded);
    Q_EMIT expandedChanged(expanded);
}

void CollapsibleSection::setWarning(bool on) {
    if (on == m_warning) {
        return;
    }
    m_warning = on;
    // The arrow and an icon cannot share the button, so the warning replaces the arrow.
    if (on) {
        m_header->setArrowType(Qt::NoArrow);
        m_header->setIcon(style()->standardIcon(QStyle::SP_MessageBoxWarning));
    } else {
        m_header->setIcon(QIcon());
        m_header->setArrowType(isExpanded() ? Qt::DownArrow : Qt::RightArrow);
    }
}

}  // namespace qs::ui
