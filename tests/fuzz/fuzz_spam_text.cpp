// Fuzz target: the SpamAssassin reader (readSpamAssassin) and its message parser
// (spamAssassinText: headers, MIME multipart, quoted-printable, base64). The first byte picks
// whether the message is stored as a raw .txt or as a .json with a "text" field, and the cap on
// the extracted text; the rest is the file, the one message of a scratch corpus folder.
#include "FuzzSupport.h"
#include "engine/data/TextDatasets.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const bool asJson = data[0] & 1;
    const std::size_t maxBytes = std::size_t(data[0] >> 1) * 16;
    const std::string message(qs::fuzz::bytesOf(data + 1, size - 1));
    if (qs::data::spamAssassinText(message, maxBytes).size() > maxBytes) {
        std::abort();
    }

    static const std::string folder = [] {
        std::filesystem::create_directories(qs::fuzz::scratchDir() / "spam" / "spam-1");
        return (qs::fuzz::scratchDir() / "spam").string();
    }();
    std::error_code ec;
    std::filesystem::remove(folder + "/spam-1/0001.txt", ec);
    std::filesystem::remove(folder + "/spam-1/0001.json", ec);
    qs::fuzz::writeScratch(asJson ? "spam/spam-1/0001.json" : "spam/spam-1/0001.txt", message);
    try {
        const qs::data::TextDataset ds = qs::data::readSpamAssassin(folder, "all");
        if (ds.examples.size() != 1 || ds.examples[0].label != 1) {
            std::abort();
        }
    } catch (const qs::data::DataError&) {
        // A named problem is the reader's correct answer to a bad file.
    }
    return 0;
}
