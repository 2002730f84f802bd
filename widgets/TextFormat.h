// Small text helpers shared by the widgets. The app ships no translations, so English plurals are
// chosen here rather than through tr("%n item(s)"), which would show the "(s)".
#pragma once

#include <QString>

namespace qs::ui {

/// "1 run", "3 runs".
inline QString countNoun(qint64 n, const QString& one, const QString& many) {
    return QStringLiteral("%1 %2").arg(n).arg(n == 1 ? one : many);
}

}  // namespace qs::ui
