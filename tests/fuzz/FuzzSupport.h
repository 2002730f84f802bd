// Helpers shared by the fuzz targets: splitting one fuzz input into several files, and a
// per-process scratch folder for readers that only take paths. Header-only, so each target stays
// one source file that both the libFuzzer build (tests/fuzz/CMakeLists.txt) and the replay test
// (tests/fuzz/replay/) compile.
#pragma once

#include "engine/data/ImageSet.h"

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

namespace qs::fuzz {

/// The input as a string view (bytes, not necessarily UTF-8).
inline std::string_view bytesOf(const uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// Splits at the first `separator`: {before, after}; without one, {input, {}} (the second view's
/// data() is then null, telling "no separator" from "nothing after it"). A text separator
/// lets the fuzzer's comparison tracing find the split point on its own.
inline std::pair<std::string_view, std::string_view> splitAt(std::string_view input,
                                                             std::string_view separator) {
    const std::size_t at = input.find(separator);
    if (at == std::string_view::npos) {
        return {input, {}};
    }
    return {input.substr(0, at), input.substr(at + separator.size())};
}

/// A scratch folder for this process: $TMPDIR when set, else /dev/shm (files there cost no disk
/// I/O at thousands of executions a second), else /tmp. The pid keeps parallel fuzzing jobs apart.
/// Removed at normal exit; libFuzzer's _Exit skips that, so run_fuzz.sh sets TMPDIR per run.
inline const std::filesystem::path& scratchDir() {
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        fs::path base = "/tmp";
        if (const char* t = std::getenv("TMPDIR"); t && *t) {
            base = t;
        } else if (std::error_code ec; fs::is_directory("/dev/shm", ec)) {
            base = "/dev/shm";
        }
        fs::path d = base / ("qs-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d);
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(scratchDir(), ec);
        });
        return d;
    }();
    return dir;
}

/// Writes `bytes` to scratchDir()/name (replacing it) and returns the path.
inline std::string writeScratch(const std::string& name, std::string_view bytes) {
    const std::filesystem::path path = scratchDir() / name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
        std::abort();  // the harness itself is broken: not a finding about the reader
    }
    return path.string();
}

/// What the trainer relies on of a decoded image set: the sizes agree and every label is a
/// class. Aborts (a finding) otherwise.
inline void requireConsistent(const qs::data::ImageSet& set) {
    if (set.count <= 0 || set.labels.size() != std::size_t(set.count) ||
        set.pixels.size() != std::size_t(set.count * set.channels * set.height * set.width)) {
        std::abort();
    }
    for (int64_t label : set.labels) {
        if (label < 0 || label >= set.numClasses) {
            std::abort();
        }
    }
}

}  // namespace qs::fuzz
