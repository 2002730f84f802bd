// safetensors: an 8-byte little-endian header length N, N bytes of JSON header
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//  "__metadata__": {"key": "string value"}}, then the data buffer; offsets are relative to the
// start of the data buffer. Torch-free: tensors are described and their bytes handed out as spans.
// Every size and offset is checked before use (DESIGN.md "Bad input").
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace qs::io {

/// Any problem with a safetensors file. The message names the file (or "<buffer>") and the
/// problem, e.g. "model.safetensors: tensor 'fc.weight': shape [10, 64] x F32 needs 2560 bytes
/// but data_offsets span 2556".
class FormatError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

/// "F32" etc.; dtypeFromName throws FormatError for an unknown name.
const char* dtypeName(DType t);
DType dtypeFromName(const std::string& name, const std::string& context);
std::size_t dtypeSize(DType t);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    std::size_t begin = 0;  ///< offset into the data buffer
    std::size_t end = 0;
    std::size_t numel() const;
    std::size_t byteSize() const { return end - begin; }
};

/// A parsed safetensors file held in memory. Headers over 100 MB are rejected.
class SafetensorsFile {
public:
    /// Reads and validates the whole file. Throws FormatError.
    static SafetensorsFile load(const std::string& path);
    /// Validates an in-memory image; `context` names it in errors. Throws FormatError.
    static SafetensorsFile parse(std::vector<uint8_t> bytes,
                                 const std::string& context = "<buffer>");

    const std::vector<TensorInfo>& tensors() const { return m_tensors; }  ///< sorted by begin
    const TensorInfo* find(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    /// Pointer to the first byte of a tensor's data (valid while this object lives).
    const uint8_t* data(const TensorInfo& t) const;
    const std::string& context() const { return m_context; }

private:
    std::vector<uint8_t> m_bytes;
    std::size_t m_dataStart = 0;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, std::string> m_metadata;
    std::string m_context;
};

/// A tensor to write: the bytes are copied out during writeSafetensors.
struct TensorEntry {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    const void* data = nullptr;
    std::size_t byteSize = 0;  ///< must equal numel * dtypeSize
};

/// Writes a safetensors file atomically (temporary file + rename), tensors in the given order,
/// header padded with spaces to a multiple of 8 bytes. Throws FormatError on a size mismatch,
/// duplicate name, or I/O error.
void writeSafetensors(const std::string& path, const std::vector<TensorEntry>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace qs::io
