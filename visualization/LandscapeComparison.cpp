#include "visualization/LandscapeComparison.h"

#include "visualization/LandscapeView.h"

#include <QButtonGroup>
#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QToolButton>
#include <QVBoxLayout>

#include <cmath>

namespace qs::ui {

LandscapeComparison::LandscapeComparison(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("LandscapeComparison"));
    m_views[0] = new LandscapeView;
    m_views[1] = new LandscapeView;
    new LandscapeCameraLink(m_views[0], m_views[1], this);  // owned by this widget

    m_modeButtons = new QButtonGroup(this);
    auto* bar = new QHBoxLayout;
    bar->setContentsMargins(4, 2, 4, 2);
    const std::pair<Mode, QString> modes[] = {{Mode::SideBySide, tr("Side by side")},
                                              {Mode::Overlaid, tr("Overlaid")}};
    for (const auto& [mode, text] : modes) {
        auto* button = new QToolButton;
        button->setText(text);
        button->setCheckable(true);
        button->setChecked(mode == m_mode);
        button->setAutoRaise(true);
        m_modeButtons->addButton(button, static_cast<int>(mode));
        bar->addWidget(button);
    }
    m_log = new QCheckBox(tr("Log scale"));
    m_contours = new QCheckBox(tr("Contours"));
    m_contours->setChecked(true);
    auto* reset = new QPushButton(tr("Reset camera"));
    bar->addSpacing(12);
    bar->addWidget(m_log);
    bar->addWidget(m_contours);
    bar->addStretch(1);
    bar->addWidget(reset);

    auto* views = new QHBoxLayout;
    views->setContentsMargins(0, 0, 0, 0);
    views->setSpacing(2);
    for (int i = 0; i < 2; ++i) {
        m_captions[i] = new QLabel;
        m_captions[i]->setObjectName(QStringLiteral("comparisonCaption%1").arg(i));
        m_captions[i]->setAlignment(Qt::AlignCenter);
        m_captions[i]->setContentsMargins(4, 4, 4, 0);
        auto* side = new QVBoxLayout;
        side->setContentsMargins(0, 0, 0, 0);
        side->setSpacing(0);
        side->addWidget(m_captions[i]);
        side->addWidget(m_views[i], 1);
        views->addLayout(side, 1);
    }
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addLayout(bar);
    layout->addLayout(views, 1);

    connect(m_modeButtons, &QButtonGroup::idClicked, this,
            [this](int id) { setMode(static_cast<Mode>(id)); });
    connect(m_log, &QCheckBox::toggled, this, [this](bool on) {
        for (LandscapeView* v : m_views) {
            v->setLogScale(on);
        }
    });
    connect(m_contours, &QCheckBox::toggled, this, [this](bool on) {
        for (LandscapeView* v : m_views) {
            v->setContoursVisible(on);
        }
    });
    // Resetting one linked view resets the other through the link.
    connect(reset, &QPushButton::clicked, this, [this] { m_views[0]->resetCamera(); });
    updateViews();
}

LandscapeComparison::~LandscapeComparison() = default;

void LandscapeComparison::setSurfaces(const LandscapeSurface& first,
                                      const LandscapeSurface& second) {
    m_first = first;
    m_second = second;
    updateViews();
    m_views[0]->resetCamera();
}

void LandscapeComparison::applyPoints(const LandscapePoints& points) {
    const bool first = applyLandscapePoints(m_first, points);
    const bool second = applyLandscapePoints(m_second, points);
    if (!first && !second) {
        return;
    }
    for (LandscapeView* v : m_views) {
        v->applyPoints(points);
    }
    updateSharedRange();
}

void LandscapeComparison::setMode(Mode mode) {
    if (m_mode == mode) {
        return;
    }
    m_mode = mode;
    const QSignalBlocker blocker(m_modeButtons);
    m_modeButtons->button(static_cast<int>(mode))->setChecked(true);
    updateViews();
}

LandscapeView* LandscapeComparison::view(int index) const {
    return m_views[index == 0 ? 0 : 1];
}

void LandscapeComparison::updateViews() {
    const LandscapeSurface* surfaces[2] = {&m_first, &m_second};
    for (int i = 0; i < 2; ++i) {
        m_captions[i]->setText(QStringLiteral("<b>%1</b>").arg(surfaces[i]->label.toHtmlEscaped()));
        m_captions[i]->setVisible(m_mode == Mode::SideBySide && !surfaces[i]->label.isEmpty());
    }
    m_views[0]->setSurface(m_first);
    if (m_mode == Mode::SideBySide) {
        m_views[0]->clearOverlay();
        m_views[1]->setSurface(m_second);
        m_views[1]->setVisible(true);
    } else {
        m_views[0]->setOverlay(m_second);
        m_views[1]->clear();
        m_views[1]->setVisible(false);
    }
    updateSharedRange();
}

void LandscapeComparison::updateSharedRange() {
    if (m_mode == Mode::Overlaid) {
        // One view holds both surfaces and spans both ranges by itself.
        m_views[0]->setSharedRange(std::nan(""), std::nan(""));
        return;
    }
    // Flatness is compared by eye: both sides on one height and colour scale.
    LandscapeDisplay raw;
    const LandscapeRange both = landscapeRange({&m_first, &m_second}, raw);
    for (LandscapeView* v : m_views) {
        v->setSharedRange(both.lossMin, both.lossMax);
    }
}

}  // namespace qs::ui
