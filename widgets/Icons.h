// The app's toolbar and menu icons, drawn with QPainter at whatever size is asked for. Qt's SVG
// icon engine is a separate plugin (libqt6svg6) that is not part of the stack (STACK.md), so the
// icons are vector paths in code: crisp at every size and device-pixel ratio, no plugin needed.
#pragma once

#include <QIcon>
#include <QString>

namespace qs::ui {

class Icons {
public:
    enum Kind {
        Run,
        Pause,
        Resume,
        Cancel,
        QueueAdd,
        Open,
        Compare,
        Save,
        Load,
        Delete,
        Rename,
        Clear,
        AppLogo
    };

    /// The icon of a kind; disabled and selected modes are derived from the same drawing.
    static QIcon icon(Kind kind);
    /// Every kind's name, for tests and the icon overview ("run", "pause", ...).
    static QString name(Kind kind);
};

}  // namespace qs::ui
