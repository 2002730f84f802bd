// Fuzz target: the run-spec parser (RunSpec::fromJson) and the CLI's overrides
// (applyOverrides). The input is spec JSON; after an optional "\n--overrides--\n" each line is a
// KEY=VALUE override applied to the parsed spec (or to the default one when the JSON is bad).
// A spec that parses must serialise, and its JSON must parse back to the same spec.
#include "FuzzSupport.h"
#include "engine/session/RunSpec.h"

#include <cstdlib>
#include <stdexcept>

using qs::session::RunSpec;

namespace {

// toJson() then fromJson() must give the same spec, compared through its canonical JSON.
void checkRoundTrip(const RunSpec& spec) {
    const std::string json = spec.toJson();
    if (RunSpec::fromJson(json).toJson() != json) {
        std::abort();
    }
}

std::vector<std::string> lines(std::string_view text) {
    std::vector<std::string> out;
    while (text.data() != nullptr && !text.empty()) {
        const auto [line, rest] = qs::fuzz::splitAt(text, "\n");
        out.emplace_back(line);
        text = rest;
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const auto [json, overrides] =
        qs::fuzz::splitAt(qs::fuzz::bytesOf(data, size), "\n--overrides--\n");
    RunSpec spec;
    try {
        spec = RunSpec::fromJson(std::string(json));
        checkRoundTrip(spec);
    } catch (const qs::session::SpecError&) {
        // A named problem is the parser's correct answer to a bad spec.
    }
    if (overrides.data() != nullptr) {
        try {
            checkRoundTrip(qs::session::applyOverrides(spec, lines(overrides)));
        } catch (const qs::session::SpecError&) {
        }
    }
    return 0;
}
