#include "engine/data/ImageSet.h"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace qs::data {

namespace {

// Fashion-MNIST's training images are 47 MB raw; anything near this is not an IDX dataset, and
// the cap keeps a gzip bomb from exhausting memory.
constexpr std::size_t kMaxBytes = std::size_t(1) << 30;
constexpr uint32_t kMaxCount = 100'000'000;
constexpr uint32_t kMaxSide = 16'384;
constexpr int kIdxClasses = 10;

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
    if (ok && std::size_t(size) > kMaxBytes) {
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

// Inflates a gzip file image (several concatenated members allowed, as gzip itself allows).
std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, const std::string& path) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        fail(path, "cannot initialise zlib");
    }
    zs.next_in = const_cast<Bytef*>(in.data());
    zs.avail_in = uInt(in.size());  // in.size() <= kMaxBytes fits in uInt
    std::vector<uint8_t> out;
    uint8_t chunk[1 << 16];
    std::string error;
    for (;;) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        const int rc = inflate(&zs, Z_NO_FLUSH);
        const std::size_t produced = sizeof chunk - zs.avail_out;
        if (out.size() + produced > kMaxBytes) {
            error = "decompresses to more than the 1 GiB limit";
            break;
        }
        out.insert(out.end(), chunk, chunk + produced);
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) {
                break;
            }
            if (zs.avail_in < 2 || zs.next_in[0] != 0x1f || zs.next_in[1] != 0x8b) {
                error = "trailing bytes after the gzip stream";
                break;
            }
            inflateReset(&zs);
        } else if (rc == Z_BUF_ERROR || (rc == Z_OK && zs.avail_in == 0 && produced == 0)) {
            error = "gzip stream is truncated";
            break;
        } else if (rc != Z_OK) {
            error = std::string("corrupt gzip stream: ") + (zs.msg ? zs.msg : "zlib error");
            break;
        }
    }
    inflateEnd(&zs);
    if (!error.empty()) {
        fail(path, error);
    }
    return out;
}

std::vector<uint8_t> readMaybeGzip(const std::string& path) {
    std::vector<uint8_t> bytes = readFile(path);
    if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) {
        return gunzip(bytes, path);
    }
    return bytes;
}

uint32_t bigEndian32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}

// An IDX file split into its dimensions and its payload, checked against each other.
struct Idx {
    std::vector<uint32_t> dims;
    std::vector<uint8_t> bytes;
    std::size_t dataStart = 0;
};

Idx readIdxFile(const std::string& path, uint32_t magic, const char* kind) {
    Idx idx;
    idx.bytes = readMaybeGzip(path);
    const std::size_t ndims = magic & 0xff;
    const std::size_t headerSize = 4 + 4 * ndims;
    if (idx.bytes.size() < headerSize) {
        fail(path, "file is " + std::to_string(idx.bytes.size()) + " bytes, too short for an IDX " +
                       kind + " header (" + std::to_string(headerSize) + " bytes)");
    }
    const uint32_t found = bigEndian32(idx.bytes.data());
    if (found != magic) {
        char msg[96];
        std::snprintf(msg, sizeof msg, "not an IDX %s file (magic 0x%08x, expected 0x%08x)", kind,
                      found, magic);
        fail(path, msg);
    }
    for (std::size_t i = 0; i < ndims; ++i) {
        const uint32_t d = bigEndian32(idx.bytes.data() + 4 + 4 * i);
        const uint32_t limit = i == 0 ? kMaxCount : kMaxSide;
        if (d == 0 || d > limit) {
            fail(path, "dimension " + std::to_string(i) + " is " + std::to_string(d) +
                           ", expected 1.." + std::to_string(limit));
        }
        idx.dims.push_back(d);
    }
    idx.dataStart = headerSize;
    return idx;
}

// Checks the payload holds exactly `count` items of `itemSize` bytes; `what` names them.
void checkPayload(const Idx& idx, const std::string& path, std::size_t itemSize,
                  const std::string& what) {
    const std::size_t count = idx.dims[0];
    const std::size_t need = count * itemSize;  // bounded by kMaxCount * kMaxSide^2: no overflow
    const std::size_t have = idx.bytes.size() - idx.dataStart;
    if (have < need) {
        fail(path, "header says " + std::to_string(count) + " " + what + " but the file holds " +
                       std::to_string(have / itemSize) + " (" + std::to_string(have) + " of " +
                       std::to_string(need) + " data bytes)");
    }
    if (have > need) {
        fail(path, "header says " + std::to_string(count) + " " + what + " but the file has " +
                       std::to_string(have - need) + " trailing bytes after them");
    }
}

std::string findIdxFile(const std::string& dir, const std::string& name) {
    const std::filesystem::path base = std::filesystem::path(dir) / name;
    for (const std::string& candidate : {base.string(), base.string() + ".gz"}) {
        if (std::error_code ec; std::filesystem::is_regular_file(candidate, ec)) {
            return candidate;
        }
    }
    throw DataError("folder " + dir + ": missing " + name + " (or " + name + ".gz)");
}

}  // namespace

ImageSet readIdx(const std::string& imagesPath, const std::string& labelsPath) {
    const Idx images = readIdxFile(imagesPath, 0x00000803, "image");
    const std::size_t rows = images.dims[1];
    const std::size_t cols = images.dims[2];
    checkPayload(images, imagesPath, rows * cols,
                 "images of " + std::to_string(rows) + "x" + std::to_string(cols));

    const Idx labels = readIdxFile(labelsPath, 0x00000801, "label");
    checkPayload(labels, labelsPath, 1, "labels");
    if (labels.dims[0] != images.dims[0]) {
        throw DataError(imagesPath + " has " + std::to_string(images.dims[0]) + " images but " +
                        labelsPath + " has " + std::to_string(labels.dims[0]) + " labels");
    }

    ImageSet set;
    set.count = images.dims[0];
    set.channels = 1;
    set.height = int64_t(rows);
    set.width = int64_t(cols);
    set.numClasses = kIdxClasses;
    set.pixels.assign(images.bytes.begin() + std::ptrdiff_t(images.dataStart), images.bytes.end());
    set.labels.reserve(labels.dims[0]);
    for (std::size_t i = labels.dataStart; i < labels.bytes.size(); ++i) {
        const int label = labels.bytes[i];
        if (label >= kIdxClasses) {
            fail(labelsPath, "label " + std::to_string(label) + " at index " +
                                 std::to_string(i - labels.dataStart) + " is out of range [0, " +
                                 std::to_string(kIdxClasses) + ")");
        }
        set.labels.push_back(label);
    }
    return set;
}

ImageSet readIdxFolder(const std::string& dir, bool train) {
    const std::string prefix = train ? "train" : "t10k";
    const std::string images = findIdxFile(dir, prefix + "-images-idx3-ubyte");
    const std::string labels = findIdxFile(dir, prefix + "-labels-idx1-ubyte");
    return readIdx(images, labels);
}

}  // namespace qs::data
