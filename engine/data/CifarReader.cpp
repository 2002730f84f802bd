#include "engine/data/ImageSet.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace qs::data {

namespace {

constexpr std::size_t kSide = 32;
constexpr std::size_t kChannels = 3;
constexpr std::size_t kImageBytes = kChannels * kSide * kSide;
// A CIFAR batch is about 30 MB; the cap keeps a wrong path (a disk image, say) from being read.
constexpr std::size_t kMaxFileBytes = std::size_t(1) << 30;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw DataError(path + ": " + what);
}

std::vector<uint8_t> readFile(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        fail("cannot open " + path, std::strerror(errno));
    }
    if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
        std::fclose(f);
        fail("cannot open " + path, "is a directory");
    }
    std::vector<uint8_t> bytes;
    bool ok = std::fseek(f, 0, SEEK_END) == 0;
    const long size = ok ? std::ftell(f) : -1;
    ok = ok && size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
    if (ok && std::size_t(size) > kMaxFileBytes) {
        std::fclose(f);
        fail(path, "file is " + std::to_string(size) + " bytes, over the 1 GiB limit");
    }
    if (ok) {
        bytes.resize(std::size_t(size));
        ok = std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size();
    }
    const int err = errno;
    std::fclose(f);
    if (!ok) {
        fail("cannot read " + path, std::strerror(err));
    }
    return bytes;
}

// One label byte of a record, named for errors, with the number of classes it may take.
struct LabelByte {
    const char* name;
    int classes;
};

void checkLabel(const std::string& path, std::size_t record, const LabelByte& byte, int value) {
    if (value >= byte.classes) {
        fail(path, "record " + std::to_string(record) + ": " + byte.name + " " +
                       std::to_string(value) + " is out of range [0, " +
                       std::to_string(byte.classes) + ")");
    }
}

}  // namespace

ImageSet readCifarBinary(const std::vector<std::string>& files, CifarKind kind) {
    const bool cifar10 = kind == CifarKind::Cifar10;
    const std::size_t labelBytes = cifar10 ? 1 : 2;
    const std::size_t recordSize = labelBytes + kImageBytes;
    const LabelByte cifar10Label{"label", 10};
    const LabelByte coarse{"coarse label", 20};
    const LabelByte fine{"fine label", 100};
    if (files.empty()) {
        throw DataError("CIFAR reader: no batch files given");
    }

    ImageSet set;
    set.channels = kChannels;
    set.height = kSide;
    set.width = kSide;
    set.numClasses = cifar10 ? 10 : kind == CifarKind::Cifar100Fine ? 100 : 20;
    for (const std::string& path : files) {
        const std::vector<uint8_t> bytes = readFile(path);
        if (bytes.empty()) {
            fail(path, "file is empty");
        }
        if (bytes.size() % recordSize != 0) {
            fail(path, "size " + std::to_string(bytes.size()) + " is not a multiple of the " +
                           (cifar10 ? "CIFAR-10" : "CIFAR-100") + " record size " +
                           std::to_string(recordSize));
        }
        const std::size_t records = bytes.size() / recordSize;
        set.pixels.reserve(set.pixels.size() + records * kImageBytes);
        set.labels.reserve(set.labels.size() + records);
        for (std::size_t r = 0; r < records; ++r) {
            const uint8_t* rec = bytes.data() + r * recordSize;
            if (cifar10) {
                checkLabel(path, r, cifar10Label, rec[0]);
                set.labels.push_back(rec[0]);
            } else {
                // Both bytes are checked whichever is used: a bad one means a corrupt file.
                checkLabel(path, r, coarse, rec[0]);
                checkLabel(path, r, fine, rec[1]);
                set.labels.push_back(kind == CifarKind::Cifar100Fine ? rec[1] : rec[0]);
            }
            // Records already store the image channel-major (R, G, B planes of 32x32).
            set.pixels.insert(set.pixels.end(), rec + labelBytes, rec + recordSize);
        }
        set.count += int64_t(records);
    }
    return set;
}

ImageSet readCifarFolder(const std::string& dir, CifarKind kind, bool train) {
    const bool cifar10 = kind == CifarKind::Cifar10;
    const std::string subfolder = cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
    std::vector<std::string> names;
    if (cifar10 && train) {
        for (int i = 1; i <= 5; ++i) {
            names.push_back("data_batch_" + std::to_string(i) + ".bin");
        }
    } else if (cifar10) {
        names = {"test_batch.bin"};
    } else {
        names = {train ? "train.bin" : "test.bin"};
    }

    namespace fs = std::filesystem;
    std::vector<std::string> files;
    for (const std::string& name : names) {
        const fs::path direct = fs::path(dir) / name;
        const fs::path nested = fs::path(dir) / subfolder / name;
        if (std::error_code ec; fs::is_regular_file(direct, ec)) {
            files.push_back(direct.string());
        } else if (fs::is_regular_file(nested, ec)) {
            files.push_back(nested.string());
        } else {
            throw DataError("folder " + dir + ": missing " + name + " (also looked in " +
                            subfolder + "/)");
        }
    }
    return readCifarBinary(files, kind);
}

}  // namespace qs::data
