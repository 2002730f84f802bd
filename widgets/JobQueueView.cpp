#include "widgets/JobQueueView.h"

#include "widgets/Icons.h"
#include "widgets/JobQueue.h"
#include "widgets/TextFormat.h"

#include <QAction>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>

namespace qs::ui {

JobQueueView::JobQueueView(JobQueue* queue, QAction* startQueue, QWidget* parent)
    : QWidget(parent),
      m_queue(queue),
      m_list(new QListWidget),
      m_caption(new QLabel),
      m_up(new QToolButton),
      m_down(new QToolButton),
      m_remove(new QToolButton) {
    setObjectName(QStringLiteral("JobQueueView"));
    m_list->setObjectName(QStringLiteral("queueList"));
    m_list->setAlternatingRowColors(true);
    m_up->setArrowType(Qt::UpArrow);
    m_up->setToolTip(tr("Run earlier"));
    m_down->setArrowType(Qt::DownArrow);
    m_down->setToolTip(tr("Run later"));
    m_remove->setIcon(Icons::icon(Icons::Delete));
    m_remove->setText(tr("Remove"));
    m_remove->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    for (QToolButton* b : {m_up, m_down, m_remove}) {
        b->setAutoRaise(true);
    }

    auto* bar = new QHBoxLayout;
    bar->setSpacing(4);
    bar->addWidget(m_caption, 1);
    if (startQueue) {
        auto* start = new QToolButton;
        start->setDefaultAction(startQueue);
        start->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
        start->setAutoRaise(true);
        bar->addWidget(start);
    }
    bar->addWidget(m_up);
    bar->addWidget(m_down);
    bar->addWidget(m_remove);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    layout->addLayout(bar);
    layout->addWidget(m_list, 1);

    connect(queue, &JobQueue::changed, this, &JobQueueView::updateFromModel);
    connect(m_list, &QListWidget::currentRowChanged, this, &JobQueueView::updateButtons);
    connect(m_up, &QToolButton::clicked, this, &JobQueueView::onMoveUp);
    connect(m_down, &QToolButton::clicked, this, &JobQueueView::onMoveDown);
    connect(m_remove, &QToolButton::clicked, this, &JobQueueView::onRemove);
    updateFromModel();
}

void JobQueueView::updateFromModel() {
    const QSignalBlocker block(m_list);
    const int current = m_list->currentRow();
    m_list->clear();
    for (int i = 0; i < m_queue->count(); ++i) {
        auto* item = new QListWidgetItem(
            QStringLiteral("%1.  %2").arg(i + 1).arg(JobQueue::describe(m_queue->at(i))));
        item->setIcon(Icons::icon(Icons::QueueAdd));
        m_list->addItem(item);
    }
    m_list->setCurrentRow(std::min(current, m_queue->count() - 1));
    m_caption->setText(
        m_queue->isEmpty()
            ? tr("Queue empty. \"Add to queue\" runs a spec after the current one.")
            : tr("%1 waiting").arg(countNoun(m_queue->count(), tr("spec"), tr("specs"))));
    updateButtons();
}

void JobQueueView::updateButtons() {
    const int row = m_list->currentRow();
    m_up->setEnabled(row > 0);
    m_down->setEnabled(row >= 0 && row + 1 < m_queue->count());
    m_remove->setEnabled(row >= 0);
}

void JobQueueView::onMoveUp() {
    const int row = m_list->currentRow();
    m_queue->move(row, row - 1);
    m_list->setCurrentRow(row - 1);
}

void JobQueueView::onMoveDown() {
    const int row = m_list->currentRow();
    m_queue->move(row, row + 1);
    m_list->setCurrentRow(row + 1);
}

void JobQueueView::onRemove() {
    m_queue->remove(m_list->currentRow());
}

}  // namespace qs::ui
