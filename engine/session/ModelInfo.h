// What a spec's model looks like, without training it: its quantizable layers and the bits the
// spec's policy gives each. Torch-free header (the GUI's layer table and per-layer editor).
#pragma once

#include "engine/session/Events.h"
#include "engine/session/RunSpec.h"

#include <vector>

namespace qs::session {

/// Every quantizable layer of the spec's model in forward order, with weight shape, parameter
/// count and bits (0 = float); steps and errors are empty. Input channels and classes come from
/// the spec, or from the dataset's known shape (Fashion-MNIST/MNIST 1x28x28 and 10 classes,
/// CIFAR-10 3x32x32 and 10, CIFAR-100 3x32x32 and 100). Throws SpecError for an invalid spec or a
/// per-layer override naming no layer.
std::vector<LayerState> plannedLayers(const RunSpec& spec);

}  // namespace qs::session
