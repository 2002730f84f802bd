#include "support/TinyDataset.h"

#include "support/TestFiles.h"

#include <algorithm>
#include <random>
#include <vector>

namespace qs::test {

namespace {

constexpr int kClasses = 4;

void writeSplit(const std::string& dir, const char* imagesName, const char* labelsName, int count,
                int side, std::mt19937& rng, bool gzip) {
    std::vector<uint8_t> images;
    std::vector<uint8_t> labels;
    for (uint32_t v : {0x00000803u, uint32_t(count), uint32_t(side), uint32_t(side)}) {
        appendBigEndian32(images, v);
    }
    appendBigEndian32(labels, 0x00000801u);
    appendBigEndian32(labels, uint32_t(count));
    // Drawn with our own arithmetic: std::uniform_int_distribution is implementation-defined.
    auto noise = [&rng] { return int(rng() % 61) - 30; };
    const int half = side / 2;
    for (int i = 0; i < count; ++i) {
        const int label = i % kClasses;
        labels.push_back(uint8_t(label));
        const int top = (label / 2) * half;
        const int left = (label % 2) * half;
        for (int y = 0; y < side; ++y) {
            for (int x = 0; x < side; ++x) {
                const bool bright = y >= top && y < top + half && x >= left && x < left + half;
                const int value = (bright ? 190 : 40) + noise();
                images.push_back(uint8_t(std::clamp(value, 0, 255)));
            }
        }
    }
    const std::string suffix = gzip ? ".gz" : "";
    const std::string imagesPath = dir + "/" + imagesName + suffix;
    const std::string labelsPath = dir + "/" + labelsName + suffix;
    if (gzip) {
        writeGzip(imagesPath, images);
        writeGzip(labelsPath, labels);
    } else {
        writeBytes(imagesPath, images);
        writeBytes(labelsPath, labels);
    }
}

}  // namespace

void writeTinyDataset(const std::string& dir, const TinyDatasetOptions& options) {
    std::mt19937 rng(options.seed);
    writeSplit(dir, kTrainImages, kTrainLabels, options.trainCount, options.side, rng,
               options.gzip);
    writeSplit(dir, kTestImages, kTestLabels, options.testCount, options.side, rng, options.gzip);
}

}  // namespace qs::test
