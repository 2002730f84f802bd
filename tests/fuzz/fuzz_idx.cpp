// Fuzz target: the IDX (MNIST / Fashion-MNIST) reader, raw or gzip. The input holds both files:
// the image file, the separator "\n--labels--\n", then the label file (without a separator, the
// label file is empty). The reader takes paths, so both go through per-process scratch files.
#include "FuzzSupport.h"
#include "engine/data/ImageSet.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto [images, labels] =
        qs::fuzz::splitAt(qs::fuzz::bytesOf(data, size), "\n--labels--\n");
    const std::string imagesPath = qs::fuzz::writeScratch("images-idx3-ubyte", images);
    const std::string labelsPath = qs::fuzz::writeScratch("labels-idx1-ubyte", labels);
    try {
        const qs::data::ImageSet set = qs::data::readIdx(imagesPath, labelsPath);
        // What the trainer relies on: the sizes agree and every label is a class.
        if (set.count <= 0 || set.labels.size() != std::size_t(set.count) ||
            set.pixels.size() != std::size_t(set.count * set.channels * set.height * set.width)) {
            std::abort();
        }
        for (int64_t label : set.labels) {
            if (label < 0 || label >= set.numClasses) {
                std::abort();
            }
        }
    } catch (const qs::data::DataError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
