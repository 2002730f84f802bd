// Image datasets as plain bytes: what the readers produce and the trainer turns into tensors.
// Torch-free, so the readers can be fuzzed and tested on their own.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::data {

/// A dataset file is missing, truncated or corrupt. The message names the file and the problem,
/// e.g. "train-images-idx3-ubyte.gz: header says 60000 images of 28x28 but the file holds 1200".
class DataError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// N images stored N x C x H x W as uint8, labels in [0, numClasses).
struct ImageSet {
    int64_t count = 0;
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    int numClasses = 0;
    std::vector<uint8_t> pixels;
    std::vector<int64_t> labels;
};

/// Reads an IDX image file (magic 0x00000803, u8, N x H x W) and its IDX label file
/// (0x00000801, u8, N). Each file may be gzip-compressed or raw (detected by the gzip magic).
/// Checks magic, dimensions, sizes against the header, image/label count agreement, and labels
/// < 10 (MNIST, Fashion-MNIST have 10 classes); the decompressed size is capped at 1 GiB.
ImageSet readIdx(const std::string& imagesPath, const std::string& labelsPath);

/// Fashion-MNIST / MNIST in a folder: `train-images-idx3-ubyte[.gz]`,
/// `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`.
/// Throws DataError naming the folder and the missing file.
ImageSet readIdxFolder(const std::string& dir, bool train);

enum class CifarKind { Cifar10, Cifar100Fine, Cifar100Coarse };

/// CIFAR binary batches: CIFAR-10 records are 1 label byte + 3072 pixel bytes; CIFAR-100
/// records are coarse byte + fine byte + 3072. Files must be whole multiples of the record size.
ImageSet readCifarBinary(const std::vector<std::string>& files, CifarKind kind);

/// CIFAR in its standard folder: CIFAR-10 `data_batch_1.bin`..`data_batch_5.bin` and
/// `test_batch.bin` (also looked for in a `cifar-10-batches-bin/` subfolder); CIFAR-100
/// `train.bin` and `test.bin` (also in `cifar-100-binary/`).
ImageSet readCifarFolder(const std::string& dir, CifarKind kind, bool train);

}  // namespace qs::data
