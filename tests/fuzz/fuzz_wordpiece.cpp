// Fuzz target: the WordPiece vocabulary loader (Vocab::load) and tokenizer. The input is a
// vocab.txt image, then optionally "\n--text--\n" and a text to tokenize (without one, the vocab
// bytes are tokenized too). The text's first byte picks the options: lower-casing, accent
// stripping, CJK splitting, the encode length and the per-word limit. The text's lines also feed
// the vocabulary learner, whose vocabulary must survive save() and load().
#include "FuzzSupport.h"
#include "engine/data/WordPiece.h"

#include <cstdlib>

using namespace qs::data;

namespace {

void checkIds(const std::vector<int64_t>& ids, const Vocab& vocab) {
    for (int64_t id : ids) {
        if (id < 0 || id >= vocab.size()) {
            std::abort();
        }
    }
}

void tokenizeWith(const Vocab& vocab, const BasicTokenizerOptions& options, uint8_t flags,
                  const std::string& text) {
    WordPieceTokenizer tok(vocab, options);
    tok.setMaxInputCharsPerWord(1 + (flags >> 4) * 8);
    checkIds(tok.toIds(tok.tokenize(text)), vocab);
    // A sentence pair split at the first tab, as the GLUE pair tasks give them.
    const auto [a, b] = qs::fuzz::splitAt(text, "\t");
    const int maxLength = flags & 0x20 ? 0 : 3 + flags % 29;
    const bool pad = flags & 0x40;
    const Encoding e = b.data() ? tok.encode(std::string(a), std::string(b), maxLength, pad)
                                : tok.encode(std::string(a), std::nullopt, maxLength, pad);
    checkIds(e.inputIds, vocab);
    if (e.tokenTypeIds.size() != e.inputIds.size() || e.attentionMask.size() != e.inputIds.size() ||
        (maxLength > 0 && e.inputIds.size() > std::size_t(maxLength)) ||
        (maxLength > 0 && pad && e.inputIds.size() != std::size_t(maxLength))) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
    const std::string_view input = qs::fuzz::bytesOf(data, size);
    const auto [vocabBytes, textBytes] = qs::fuzz::splitAt(input, "\n--text--\n");
    const std::string text(textBytes.data() ? textBytes : vocabBytes);
    const uint8_t flags = text.empty() ? 0 : uint8_t(text[0]);

    BasicTokenizerOptions options;
    options.doLowerCase = flags & 1;
    if (flags & 2) {
        options.stripAccents = bool(flags & 4);
    }
    options.tokenizeChineseChars = flags & 8;
    (void)basicTokenize(text, options);

    try {
        const Vocab vocab = Vocab::load(qs::fuzz::writeScratch("vocab.txt", vocabBytes));
        for (int i = 0; i < vocab.size(); ++i) {
            if (vocab.find(vocab.token(i)) != i) {
                std::abort();
            }
        }
        tokenizeWith(vocab, options, flags, text);
    } catch (const DataError&) {
        // A named problem (empty or duplicate token, missing special token) is correct.
    }

    // The learner on the text's lines; its vocabulary must save and load back unchanged and
    // tokenize the text it was learnt from.
    std::vector<std::string> texts;
    for (std::string_view rest = text; rest.data() != nullptr && !rest.empty();) {
        const auto [line, next] = qs::fuzz::splitAt(rest, "\n");
        texts.emplace_back(line);
        rest = next;
    }
    const Vocab learnt = buildWordPieceVocab(texts, 40 + flags % 64, 1 + (flags >> 7), flags & 1);
    const std::string saved = qs::fuzz::writeScratch("learnt.txt", {});
    learnt.save(saved);
    if (Vocab::load(saved).tokens() != learnt.tokens()) {
        std::abort();
    }
    options.doLowerCase = flags & 1;
    tokenizeWith(learnt, options, flags, text);
    return 0;
}
