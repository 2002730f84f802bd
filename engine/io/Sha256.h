// SHA-256 (FIPS 180-4) of bytes and files, for the checksums exports and reports carry.
// Torch-free and Qt-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qs::io {

/// Incremental SHA-256.
/// Example:
///   Sha256 h;
///   h.update(data, size);
///   std::string hex = h.hexDigest();  // 64 lowercase hex digits
class Sha256 {
public:
    Sha256();
    void update(const void* data, std::size_t size);
    /// Finishes the hash; the object must not be updated afterwards.
    std::string hexDigest();

private:
    void block(const uint8_t* p);

    uint32_t m_state[8];
    uint8_t m_buffer[64];
    std::size_t m_buffered = 0;
    uint64_t m_length = 0;  ///< bytes hashed so far
};

std::string sha256Hex(const std::string& bytes);

/// SHA-256 of a whole file, read in chunks. Throws std::runtime_error naming the file when it
/// cannot be read.
std::string sha256File(const std::string& path);

}  // namespace qs::io
