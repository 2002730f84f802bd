// Fuzz target: the CIFAR binary reader. The first byte picks CIFAR-10, CIFAR-100 fine or
// CIFAR-100 coarse (byte % 3); the rest is the batch file. When the rest holds the separator
// "\n--batch--\n", it is two batch files read as one set, as the training split's five are.
#include "FuzzSupport.h"
#include "engine/data/ImageSet.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const auto kind = qs::data::CifarKind(data[0] % 3);
    const auto [first, second] =
        qs::fuzz::splitAt(qs::fuzz::bytesOf(data + 1, size - 1), "\n--batch--\n");
    std::vector<std::string> files = {qs::fuzz::writeScratch("batch_1.bin", first)};
    if (second.data() != nullptr) {
        files.push_back(qs::fuzz::writeScratch("batch_2.bin", second));
    }
    try {
        qs::fuzz::requireConsistent(qs::data::readCifarBinary(files, kind));
    } catch (const qs::data::DataError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
