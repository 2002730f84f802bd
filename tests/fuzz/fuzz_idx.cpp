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
        qs::fuzz::requireConsistent(qs::data::readIdx(imagesPath, labelsPath));
    } catch (const qs::data::DataError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
