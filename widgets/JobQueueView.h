// The queue of specs waiting to run: reorder with the arrows, remove, or start it again after a
// cancel held it.
#pragma once

#include <QWidget>

class QListWidget;
class QToolButton;
class QLabel;
class QAction;

namespace qs::ui {

class JobQueue;

class JobQueueView : public QWidget {
    Q_OBJECT
public:
    /// startQueue: the action that (re)starts the queue, shown as a button (may be null).
    JobQueueView(JobQueue* queue, QAction* startQueue, QWidget* parent = nullptr);

    QListWidget* listWidget() const { return m_list; }

private:
    void updateFromModel();
    void onMoveUp();
    void onMoveDown();
    void onRemove();
    void updateButtons();

    JobQueue* m_queue;
    QListWidget* m_list;
    QLabel* m_caption;
    QToolButton* m_up;
    QToolButton* m_down;
    QToolButton* m_remove;
};

}  // namespace qs::ui
