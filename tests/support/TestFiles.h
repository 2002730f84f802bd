// Small helpers the tests use to write their own input files (no Qt, no torch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qs::test {

/// Writes bytes to path, replacing the file. Throws std::runtime_error on failure.
void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes);

/// Reads a whole file. Throws std::runtime_error on failure.
std::vector<uint8_t> readBytes(const std::string& path);

/// Writes bytes gzip-compressed (zlib's gzip format), as the Fashion-MNIST files are shipped.
void writeGzip(const std::string& path, const std::vector<uint8_t>& bytes);

/// Appends a 32-bit big-endian integer (the IDX header's byte order).
void appendBigEndian32(std::vector<uint8_t>& out, uint32_t value);

}  // namespace qs::test
