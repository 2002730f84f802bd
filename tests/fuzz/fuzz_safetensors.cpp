// Fuzz target: the safetensors reader (SafetensorsFile::parse, what load() runs on a file's
// bytes). Every tensor's bytes are touched so AddressSanitizer sees any span past the buffer, and
// a file that parses is written back and reread: the writer must reproduce what was read.
#include "FuzzSupport.h"
#include "engine/io/Safetensors.h"

#include <cstdlib>
#include <cstring>

using qs::io::SafetensorsFile;

namespace {

void roundTrip(const SafetensorsFile& file) {
    std::vector<qs::io::TensorEntry> entries;
    for (const qs::io::TensorInfo& t : file.tensors()) {
        entries.push_back({t.name, t.dtype, t.shape, file.data(t), t.byteSize()});
    }
    const std::string path = qs::fuzz::writeScratch("roundtrip.safetensors", {});
    try {
        qs::io::writeSafetensors(path, entries, file.metadata());
    } catch (const qs::io::FormatError&) {
        return;  // the writer may be stricter than the reader (it names the problem)
    }
    const SafetensorsFile again = SafetensorsFile::load(path);
    if (again.tensors().size() != file.tensors().size() || again.metadata() != file.metadata()) {
        std::abort();
    }
    for (const qs::io::TensorInfo& t : file.tensors()) {
        const qs::io::TensorInfo* u = again.find(t.name);
        if (!u || u->dtype != t.dtype || u->shape != t.shape || u->byteSize() != t.byteSize() ||
            (t.byteSize() && std::memcmp(again.data(*u), file.data(t), t.byteSize()) != 0)) {
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    try {
        const SafetensorsFile file =
            SafetensorsFile::parse(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
        unsigned sum = 0;
        for (const qs::io::TensorInfo& t : file.tensors()) {
            if (file.find(t.name) == nullptr) {
                std::abort();
            }
            const uint8_t* p = file.data(t);
            for (std::size_t i = 0; i < t.byteSize(); ++i) {
                sum += p[i];
            }
            (void)t.numel();
        }
        asm volatile("" : : "r"(sum));
        roundTrip(file);
    } catch (const qs::io::FormatError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
