// Torch-side cases for test_landscape: the random directions of a tiny model and the plain
// evaluation loss of a checkpoint, returned as plain values so the Qt Test file never sees a
// torch header. The expectations are computed in TestLandscape.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test::landscape {

/// One direction tensor as randomDirections made it.
struct DirectionTensor {
    std::string name;
    int64_t dim = 0;
    std::vector<double> directionFilterNorms;  ///< ||d_f|| per slice along dim 0
    std::vector<double> weightFilterNorms;     ///< ||w_f|| per slice along dim 0
    double maxAbs = 0.0;                       ///< max |d|
};

struct DirectionsSeen {
    std::vector<DirectionTensor> dx;
    std::vector<DirectionTensor> dy;
    std::vector<std::string> quantizerParams;  ///< quantizer parameters the model has
    bool sameSeedGivesSameDirections = false;
    bool otherSeedGivesOtherDirections = false;
    bool curveDxEqualsSurfaceDx = false;    ///< 1D dx == 2D dx for the same seed
    bool stepSizesUnmovedAtOneOne = false;  ///< after a PointEvaluator evaluated (1, 1)
    bool weightsMovedAtOneOne = false;
    bool restoreIsExact = false;  ///< PointEvaluator::restore puts w0 back bitwise
};

/// randomDirections of a ResNet-20 with LSQ quantizers (per-channel when asked) built for 1x12x12
/// inputs and 4 classes, plus a PointEvaluator on 8 random images (quantizers bypassed).
DirectionsSeen randomDirectionsOfTinyModel(bool perChannel, uint64_t seed);

/// Mean cross-entropy of the checkpoint's model in `mode` on the landscape's evaluation subset
/// (analysisSubset with the same samples, seed and split), evaluated plainly.
double plainLoss(const std::string& checkpoint, const std::string& mode, int64_t samples,
                 uint64_t seed, bool testSplit, const std::string& dataPath, int batchSize);

}  // namespace qs::test::landscape
