#include "engine/io/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include <unistd.h>

namespace qs::io {

// The format stores the header length and all tensor data little-endian; we copy bytes as they
// are, which is only right on a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes little-endian");

namespace {

using nlohmann::json;

// Same cap as the reference implementation: a header past it is hostile or broken.
constexpr std::size_t kMaxHeaderSize = 100'000'000;
// Longest shape (or data_offsets) array accepted; real tensors have a handful of dims.
constexpr std::size_t kMaxArrayLength = 1024;

[[noreturn]] void fail(const std::string& context, const std::string& what) {
    throw FormatError(context + ": " + what);
}

bool mulChecked(std::size_t a, std::size_t b, std::size_t& out) {
    return !__builtin_mul_overflow(a, b, &out);
}

// A bounded description of a hostile JSON value: dump() recurses and can be megabytes long.
std::string describe(const json& v) {
    if (v.is_number() || v.is_boolean() || v.is_null()) {
        return v.dump();
    }
    return v.type_name();
}

std::string shapeString(const std::vector<int64_t>& shape) {
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) {
        s << (i ? ", " : "") << shape[i];
    }
    s << ']';
    return s.str();
}

// Bytes a shape of this dtype needs; throws on a negative dim or on overflow.
std::size_t checkedByteSize(const std::vector<int64_t>& shape, DType dtype,
                            const std::string& where) {
    std::size_t n = dtypeSize(dtype);
    for (int64_t d : shape) {
        if (d < 0) {
            fail(where,
                 "negative dimension " + std::to_string(d) + " in shape " + shapeString(shape));
        }
        if (!mulChecked(n, std::size_t(d), n)) {
            fail(where, "shape " + shapeString(shape) + " x " + dtypeName(dtype) +
                            " overflows the byte count");
        }
    }
    return n;
}

// A non-negative JSON integer as size_t; floats, strings and negatives are rejected.
std::size_t offsetValue(const json& v, const std::string& where) {
    if (v.is_number_unsigned()) {
        return v.get<std::size_t>();
    }
    if (v.is_number_integer() && v.get<int64_t>() >= 0) {
        return std::size_t(v.get<int64_t>());
    }
    fail(where, "data_offsets must hold non-negative integers, got " + describe(v));
}

int64_t dimValue(const json& v, const std::string& where) {
    if (v.is_number_unsigned()) {
        if (v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())) {
            fail(where, "dimension " + describe(v) + " is too large");
        }
        return int64_t(v.get<uint64_t>());
    }
    if (v.is_number_integer()) {
        return v.get<int64_t>();
    }
    fail(where, "shape must hold integers, got " + describe(v));
}

TensorInfo parseTensor(const std::string& name, const json& entry, const std::string& context) {
    const std::string where = context + ": tensor '" + name + "'";
    if (!entry.is_object()) {
        fail(where, "entry must be a JSON object, got " + std::string(entry.type_name()));
    }
    for (const char* key : {"dtype", "shape", "data_offsets"}) {
        if (!entry.contains(key)) {
            fail(where, std::string("missing \"") + key + "\"");
        }
    }
    const json& dtype = entry["dtype"];
    const json& shape = entry["shape"];
    const json& offsets = entry["data_offsets"];
    if (!dtype.is_string()) {
        fail(where, "dtype must be a string, got " + describe(dtype));
    }
    if (!shape.is_array()) {
        fail(where, "shape must be an array, got " + describe(shape));
    }
    if (!offsets.is_array() || offsets.size() != 2) {
        fail(where, "data_offsets must be an array [begin, end], got " +
                        (offsets.is_array() ? std::to_string(offsets.size()) + " elements"
                                            : describe(offsets)));
    }

    TensorInfo t;
    t.name = name;
    t.dtype = dtypeFromName(dtype.get<std::string>(), where);
    for (const json& d : shape) {
        t.shape.push_back(dimValue(d, where));
    }
    t.begin = offsetValue(offsets[0], where);
    t.end = offsetValue(offsets[1], where);
    if (t.begin > t.end) {
        fail(where, "data_offsets begin " + std::to_string(t.begin) + " is past end " +
                        std::to_string(t.end));
    }
    const std::size_t need = checkedByteSize(t.shape, t.dtype, where);
    if (need != t.byteSize()) {
        fail(where, "shape " + shapeString(t.shape) + " x " + dtypeName(t.dtype) + " needs " +
                        std::to_string(need) + " bytes but data_offsets span " +
                        std::to_string(t.byteSize()));
    }
    return t;
}

std::map<std::string, std::string> parseMetadata(const json& meta, const std::string& context) {
    if (!meta.is_object()) {
        fail(context,
             "__metadata__ must be an object of strings, got " + std::string(meta.type_name()));
    }
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : meta.items()) {
        if (!value.is_string()) {
            fail(context, "__metadata__ value for '" + key + "' must be a string, got " +
                              std::string(value.type_name()));
        }
        out[key] = value.get<std::string>();
    }
    return out;
}

std::string ioError(const std::string& path, const char* what) {
    return path + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

const char* dtypeName(DType t) {
    switch (t) {
        case DType::F64:
            return "F64";
        case DType::F32:
            return "F32";
        case DType::F16:
            return "F16";
        case DType::BF16:
            return "BF16";
        case DType::I64:
            return "I64";
        case DType::I32:
            return "I32";
        case DType::I16:
            return "I16";
        case DType::I8:
            return "I8";
        case DType::U8:
            return "U8";
        case DType::BOOL:
            return "BOOL";
    }
    return "?";
}

DType dtypeFromName(const std::string& name, const std::string& context) {
    for (DType t : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32,
                    DType::I16, DType::I8, DType::U8, DType::BOOL}) {
        if (name == dtypeName(t)) {
            return t;
        }
    }
    fail(context, "unknown dtype '" + name + "'");
}

std::size_t dtypeSize(DType t) {
    switch (t) {
        case DType::F64:
        case DType::I64:
            return 8;
        case DType::F32:
        case DType::I32:
            return 4;
        case DType::F16:
        case DType::BF16:
        case DType::I16:
            return 2;
        case DType::I8:
        case DType::U8:
        case DType::BOOL:
            return 1;
    }
    return 1;
}

std::size_t TensorInfo::numel() const {
    std::size_t n = 1;
    for (int64_t d : shape) {
        n *= std::size_t(d);
    }
    return n;
}

SafetensorsFile SafetensorsFile::load(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) {
        throw FormatError(ioError(path, "cannot open"));
    }
    // fopen succeeds on a folder, whose ftell is LONG_MAX: refuse it before sizing a buffer.
    if (std::error_code ec; std::filesystem::is_directory(path, ec)) {
        std::fclose(f);
        throw FormatError(path + ": cannot open: is a directory");
    }
    std::vector<uint8_t> bytes;
    bool ok = std::fseek(f, 0, SEEK_END) == 0;
    const long size = ok ? std::ftell(f) : -1;
    ok = ok && size >= 0 && std::fseek(f, 0, SEEK_SET) == 0;
    if (ok) {
        bytes.resize(std::size_t(size));
        ok = std::fread(bytes.data(), 1, bytes.size(), f) == bytes.size();
    }
    std::fclose(f);
    if (!ok) {
        throw FormatError(ioError(path, "cannot read"));
    }
    return parse(std::move(bytes), path);
}

SafetensorsFile SafetensorsFile::parse(std::vector<uint8_t> bytes, const std::string& context) {
    if (bytes.size() < 8) {
        fail(context, "file is " + std::to_string(bytes.size()) +
                          " bytes, too short for the 8-byte header length");
    }
    uint64_t headerLen = 0;
    std::memcpy(&headerLen, bytes.data(), 8);
    if (headerLen > kMaxHeaderSize) {
        fail(context, "header length " + std::to_string(headerLen) + " exceeds the " +
                          std::to_string(kMaxHeaderSize) + "-byte limit");
    }
    if (headerLen > bytes.size() - 8) {
        fail(context, "header length " + std::to_string(headerLen) + " is past the end of the " +
                          std::to_string(bytes.size()) + "-byte file");
    }

    SafetensorsFile out;
    out.m_context = context;
    out.m_dataStart = 8 + std::size_t(headerLen);

    // Each top-level entry is validated and dropped from the DOM as soon as it is parsed, and
    // containers are checked against the header's fixed shape (object > entry object > arrays of
    // numbers) when they open. A DOM costs 10-20x the JSON text, so without this a hostile 100 MB
    // header ("[[[[...", a shape of 10^7 dims, millions of tiny entries) could take gigabytes.
    std::set<std::string> names;
    std::string key;
    std::size_t arrayValues = 0;
    const auto takeEntry = [&](const json& entry) {
        if (key == "__metadata__") {
            out.m_metadata = parseMetadata(entry, context);
        } else if (!names.insert(key).second) {
            fail(context, "tensor '" + key + "': duplicate tensor name");
        } else {
            out.m_tensors.push_back(parseTensor(key, entry, context));
        }
    };
    const json::parser_callback_t onEvent = [&](int depth, json::parse_event_t event,
                                                json& parsed) {
        using Event = json::parse_event_t;
        const bool opens = event == Event::object_start || event == Event::array_start;
        if (depth == 0 && event == Event::array_start) {
            fail(context, "header must be a JSON object, got array");
        }
        if (depth == 1 && event == Event::array_start) {
            takeEntry(json::array());  // reports "entry must be a JSON object, got array"
        }
        if (depth >= 3 && opens) {
            fail(context, "header nests deeper than a safetensors header can");
        }
        if (depth == 2 && opens) {
            arrayValues = 0;
        }
        if (depth == 3 && event == Event::value && ++arrayValues > kMaxArrayLength) {
            fail(context, "tensor '" + key + "': an array holds more than " +
                              std::to_string(kMaxArrayLength) + " values");
        }
        if (depth == 1 && event == Event::key) {
            key = parsed.get<std::string>();
        }
        const bool entryDone = depth == 1 && (event == Event::object_end || event == Event::value);
        if (entryDone) {
            takeEntry(parsed);
        }
        return !entryDone;
    };
    const char* headerBegin = reinterpret_cast<const char*>(bytes.data() + 8);
    json header;
    try {
        header = json::parse(headerBegin, headerBegin + headerLen, onEvent);
    } catch (const json::exception& e) {
        fail(context, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) {
        fail(context, "header must be a JSON object, got " + std::string(header.type_name()));
    }

    // Like the reference implementation, tensors must tile the data buffer exactly: sorted by
    // offset, each begins where the previous ended, and the last ends at the end of the file.
    // Zero-size tensors sort first among equal begins so they never look like overlaps.
    std::sort(out.m_tensors.begin(), out.m_tensors.end(),
              [](const TensorInfo& a, const TensorInfo& b) {
                  return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
              });
    const std::size_t dataSize = bytes.size() - out.m_dataStart;
    std::size_t covered = 0;
    const TensorInfo* prev = nullptr;
    for (const TensorInfo& t : out.m_tensors) {
        if (t.end > dataSize) {
            fail(context, "tensor '" + t.name + "': data_offsets end " + std::to_string(t.end) +
                              " is past the " + std::to_string(dataSize) + "-byte data buffer");
        }
        if (t.begin < covered) {
            fail(context,
                 "tensors '" + prev->name + "' and '" + t.name + "' have overlapping data_offsets");
        }
        if (t.begin > covered) {
            fail(context, "data buffer bytes [" + std::to_string(covered) + ", " +
                              std::to_string(t.begin) + ") belong to no tensor");
        }
        covered = t.end;
        prev = &t;
    }
    if (covered != dataSize) {
        fail(context, "data buffer bytes [" + std::to_string(covered) + ", " +
                          std::to_string(dataSize) + ") belong to no tensor");
    }
    out.m_bytes = std::move(bytes);
    return out;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    for (const TensorInfo& t : m_tensors) {
        if (t.name == name) {
            return &t;
        }
    }
    return nullptr;
}

const uint8_t* SafetensorsFile::data(const TensorInfo& t) const {
    return m_bytes.data() + m_dataStart + t.begin;
}

void writeSafetensors(const std::string& path, const std::vector<TensorEntry>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    // Keep the caller's order in the header too, so the file reads the way it was written.
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!metadata.empty()) {
        header["__metadata__"] = metadata;
    }
    std::set<std::string> names;
    std::size_t offset = 0;
    for (const TensorEntry& t : tensors) {
        const std::string where = path + ": tensor '" + t.name + "'";
        if (t.name == "__metadata__") {
            fail(where, "the name is reserved for metadata");
        }
        if (!names.insert(t.name).second) {
            fail(where, "duplicate tensor name");
        }
        const std::size_t need = checkedByteSize(t.shape, t.dtype, where);
        if (need != t.byteSize) {
            fail(where, "shape " + shapeString(t.shape) + " x " + dtypeName(t.dtype) + " needs " +
                            std::to_string(need) + " bytes but " + std::to_string(t.byteSize) +
                            " were given");
        }
        if (t.byteSize > 0 && !t.data) {
            fail(where, "no data pointer for " + std::to_string(t.byteSize) + " bytes");
        }
        header[t.name] = {{"dtype", dtypeName(t.dtype)},
                          {"shape", t.shape},
                          {"data_offsets", {offset, offset + t.byteSize}}};
        offset += t.byteSize;
    }

    std::string text;
    try {
        text = header.dump();
    } catch (const nlohmann::json::exception& e) {
        fail(path, std::string("cannot encode header: ") + e.what());
    }
    // Padding keeps the data buffer 8-byte aligned for readers that map the file.
    text.append((8 - text.size() % 8) % 8, ' ');
    const uint64_t headerLen = text.size();

    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) {
        throw FormatError(ioError(tmp, "cannot create"));
    }
    bool ok = std::fwrite(&headerLen, 8, 1, f) == 1 &&
              std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (std::size_t i = 0; ok && i < tensors.size(); ++i) {
        const TensorEntry& t = tensors[i];
        ok = t.byteSize == 0 || std::fwrite(t.data, 1, t.byteSize, f) == t.byteSize;
    }
    // fsync before rename: otherwise a crash can leave the new name pointing at an empty file.
    ok = ok && std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string msg = ioError(path, "cannot write");
        std::remove(tmp.c_str());
        throw FormatError(msg);
    }
}

}  // namespace qs::io
