// The run spec JSON that trains on the tiny dataset (TinyDataset.h) in a second or two: for the
// Qt tests that drive the engine through JSON (CLI, bridge, window). Header-only, Qt Core.
#pragma once

#include <QJsonObject>
#include <QString>

namespace qs::test {

/// ResNet-20 on the tiny IDX folder at `dataPath`, batch 32, no augmentation, one thread.
inline QJsonObject tinySpecJson(const QString& dataPath, const QString& name, const QString& method,
                                int epochs) {
    return QJsonObject{
        {"version", 1},
        {"name", name},
        {"model", QJsonObject{{"arch", "resnet20"}}},
        {"data", QJsonObject{{"dataset", "mnist"},
                             {"path", dataPath},
                             {"augment", false},
                             {"batch_size", 32},
                             {"eval_batch_size", 128}}},
        {"method", QJsonObject{{"name", method}}},
        {"optim", QJsonObject{{"lr", 0.05}, {"epochs", epochs}}},
        {"seed", 3},
        {"threads", 1},
        {"log_every", 2},
        {"state_every", 4},
    };
}

}  // namespace qs::test
