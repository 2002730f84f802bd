// Tiny, learnable GLUE task folders for tests that train BERT for real in seconds (no Qt, no
// torch): SST-2 (single sentences, two classes) and STS-B (sentence pairs, a score in [0, 5]).
#pragma once

#include <cstdint>
#include <string>

namespace qs::test {

struct TinyTextOptions {
    int trainCount = 320;
    int devCount = 96;
    uint32_t seed = 5;  ///< same seed, same bytes
};

/// Writes `<dir>/SST-2/{train,dev}.tsv`: sentences of 4 to 10 filler words with one sentiment
/// word; the sentiment word decides the label ("great", "good", "lovely", "fine" -> 1; "awful",
/// "bad", "dull", "poor" -> 0). Classes alternate, so both splits are balanced. `dir` must exist.
/// Throws std::runtime_error when a file cannot be written.
void writeTinySst2(const std::string& dir, const TinyTextOptions& options = {});

/// Writes `<dir>/STS-B/{train,dev}.tsv` in GLUE's 10-column layout: the score is 5 when the
/// second sentence holds the word "same" (every other pair), else 0.
void writeTinyStsb(const std::string& dir, const TinyTextOptions& options = {});

}  // namespace qs::test
