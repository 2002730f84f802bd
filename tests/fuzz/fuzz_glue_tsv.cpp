// Fuzz target: the GLUE TSV reader (readGlue). The first byte picks the task (byte % 9, in
// glueTasks() order) and the split ((byte / 9) % 3: train, dev, test); the rest is that split's
// .tsv file, written to a per-process scratch task folder.
#include "FuzzSupport.h"
#include "engine/data/TextDatasets.h"

#include <cmath>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    static const std::vector<std::string> tasks = qs::data::glueTasks();
    const std::string& task = tasks[data[0] % tasks.size()];
    const char* const splits[] = {"train", "dev", "test"};
    const std::string split = splits[(data[0] / tasks.size()) % 3];
    // MNLI names its dev and test files after the matched genres.
    const std::string file =
        task == "MNLI" && split != "train" ? split + "_matched.tsv" : split + ".tsv";
    qs::fuzz::writeScratch(file, qs::fuzz::bytesOf(data + 1, size - 1));
    try {
        const qs::data::TextDataset ds =
            qs::data::readGlue(qs::fuzz::scratchDir().string(), task, split);
        // What the BERT trainer relies on: labels index labelNames, scores are in [0, 5].
        for (const qs::data::TextExample& ex : ds.examples) {
            if (ds.labeled && !ds.regression &&
                (ex.label < 0 || std::size_t(ex.label) >= ds.labelNames.size())) {
                std::abort();
            }
            if (ds.labeled && ds.regression && !(ex.score >= 0.0f && ex.score <= 5.0f)) {
                std::abort();
            }
            if (!ds.labeled && ex.label != -1) {
                std::abort();
            }
        }
    } catch (const qs::data::DataError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
