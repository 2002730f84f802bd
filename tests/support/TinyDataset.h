// A tiny, learnable image dataset in the MNIST IDX layout, for tests that train for real in a
// few seconds (no Qt, no torch).
#pragma once

#include <cstdint>
#include <string>

namespace qs::test {

struct TinyDatasetOptions {
    int trainCount = 256;
    int testCount = 128;
    int side = 12;      ///< images are side x side, one channel
    uint32_t seed = 7;  ///< the noise is drawn from this seed: same seed, same bytes
    bool gzip = false;  ///< write the four files gzip-compressed (with a .gz suffix)
};

/// File names of the IDX folder layout the trainer reads (without a .gz suffix).
inline constexpr const char* kTrainImages = "train-images-idx3-ubyte";
inline constexpr const char* kTrainLabels = "train-labels-idx1-ubyte";
inline constexpr const char* kTestImages = "t10k-images-idx3-ubyte";
inline constexpr const char* kTestLabels = "t10k-labels-idx1-ubyte";

/// Writes the four IDX files into `dir` (which must exist). Four classes, labels 0..3: the class
/// decides which quadrant of the image is bright (0 top-left, 1 top-right, 2 bottom-left,
/// 3 bottom-right), on a dark background, plus uniform noise. Classes cycle through the images,
/// so each split is balanced. Throws std::runtime_error when a file cannot be written.
void writeTinyDataset(const std::string& dir, const TinyDatasetOptions& options = {});

}  // namespace qs::test
