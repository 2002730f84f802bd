// Plain Qt value types that carry Hessian figures, layer sensitivities and the mixed-precision
// Pareto frontier (ALGORITHMS.md section 5) into the views. Like ViewData.h: shared by
// visualization/, widgets/ and the bridge in app/; no engine header, no torch.
#pragma once

#include <QMap>
#include <QMetaType>
#include <QString>
#include <QVector>

namespace qs::ui {

/// One layer's Hessian block trace and its sensitivity to each candidate bit-width.
struct LayerSensitivity {
    QString layer;         ///< parameter path, e.g. "layer1.0.conv1"
    qint64 params = 0;     ///< n_i, the weights of the layer
    qint64 macs = 0;       ///< multiply-accumulates of one forward pass (0 when unknown)
    double trace = 0.0;    ///< Hutchinson estimate of Tr(H_i); may be zero or negative
    double traceSe = 0.0;  ///< its standard error
    /// Omega_i(b) = Tr(H_i) / n_i * ||Q_b(W_i) - W_i||^2, keyed by candidate bits b.
    QMap<int, double> omega;
};

/// One Hessian analysis of a run's checkpoint: the top eigenvalues, the whole-model trace and
/// the per-layer figures.
struct HessianSummary {
    qint64 id = 0;
    qint64 runId = 0;
    qint64 step = 0;              ///< training step of the analysed checkpoint
    QString mode;                 ///< "float" | "dequantized" | "quantize-after"
    QVector<double> eigenvalues;  ///< largest first
    double trace = 0.0;
    double traceSe = 0.0;
    QVector<LayerSensitivity> layers;  ///< in the model's order
};

/// One bit allocation: its model size, its total sensitivity sum_i Omega_i(b_i) and its cost.
struct FrontierPoint {
    double sizeBytes = 0.0;   ///< weights only: sum_i n_i * b_i / 8
    double omega = 0.0;       ///< sum_i Omega_i(b_i)
    double bitOps = 0.0;      ///< sum_i MACs_i * b_i * activation bits (0 when unknown)
    QMap<QString, int> bits;  ///< layer -> chosen bits (0: kept in float)
};

/// The Pareto frontier of size against Omega, with the uniform allocations to compare with.
struct ParetoFrontier {
    qint64 runId = 0;
    QVector<FrontierPoint> points;     ///< the optimal allocations, by increasing size
    QMap<int, FrontierPoint> uniform;  ///< bits -> every layer at those bits
};

}  // namespace qs::ui

Q_DECLARE_METATYPE(qs::ui::LayerSensitivity)
Q_DECLARE_METATYPE(qs::ui::HessianSummary)
Q_DECLARE_METATYPE(qs::ui::FrontierPoint)
Q_DECLARE_METATYPE(qs::ui::ParetoFrontier)
