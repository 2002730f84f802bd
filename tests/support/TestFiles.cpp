#include "support/TestFiles.h"

#include <zlib.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace qs::test {

void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out) {
        throw std::runtime_error("cannot write " + path);
    }
}

std::vector<uint8_t> readBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeGzip(const std::string& path, const std::vector<uint8_t>& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) {
        throw std::runtime_error("cannot open " + path);
    }
    const int written = bytes.empty() ? 0 : gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
    if (written != int(bytes.size())) {
        throw std::runtime_error("cannot gzip-write " + path);
    }
}

void appendBigEndian32(std::vector<uint8_t>& out, uint32_t value) {
    out.push_back(uint8_t(value >> 24));
    out.push_back(uint8_t(value >> 16));
    out.push_back(uint8_t(value >> 8));
    out.push_back(uint8_t(value));
}

}  // namespace qs::test
