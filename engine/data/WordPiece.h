// The WordPiece tokenizer of BERT, torch-free: vocabulary files, basic tokenization, greedy
// WordPiece, sentence-pair encoding, and a vocabulary learner for training from scratch.
// Compatible with Hugging Face's BertTokenizer and Google's tokenization.py, so a vocab.txt gives
// the same ids here as there.
#pragma once

#include "engine/data/ImageSet.h"  // DataError

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace qs::data {

/// The special tokens of BERT.
inline const std::string kPadToken = "[PAD]";
inline const std::string kUnkToken = "[UNK]";
inline const std::string kClsToken = "[CLS]";
inline const std::string kSepToken = "[SEP]";
inline const std::string kMaskToken = "[MASK]";

/// A WordPiece vocabulary: token i is line i of vocab.txt.
class Vocab {
public:
    Vocab() = default;
    /// Throws DataError on an empty list, an empty token or a duplicate, naming `source` and the
    /// 1-based line.
    explicit Vocab(std::vector<std::string> tokens, std::string source = "vocabulary");

    /// Reads vocab.txt (UTF-8, one token per line; "\n" or "\r\n" ends a line, other whitespace
    /// belongs to the token as in Hugging Face; a leading byte-order mark is skipped). Throws
    /// DataError naming the file, and the line for a duplicate or empty token.
    static Vocab load(const std::string& path);
    /// Writes one token per line; throws DataError naming the file when it cannot be written.
    void save(const std::string& path) const;

    int size() const { return int(m_tokens.size()); }
    bool contains(const std::string& token) const { return m_ids.count(token) != 0; }
    /// The id of `token`, or -1 when absent.
    int find(const std::string& token) const;
    /// The id of `token`; throws DataError naming the vocabulary when absent.
    int id(const std::string& token) const;
    /// The token with id `id`; throws std::out_of_range for a bad id.
    const std::string& token(int id) const { return m_tokens.at(std::size_t(id)); }
    const std::vector<std::string>& tokens() const { return m_tokens; }
    /// Where the vocabulary came from (a file path), for error messages.
    const std::string& source() const { return m_source; }

    /// Ids of the special tokens; each throws DataError naming the vocabulary when missing.
    int padId() const { return id(kPadToken); }
    int unkId() const { return id(kUnkToken); }
    int clsId() const { return id(kClsToken); }
    int sepId() const { return id(kSepToken); }
    int maskId() const { return id(kMaskToken); }

private:
    std::vector<std::string> m_tokens;
    std::unordered_map<std::string, int> m_ids;
    std::string m_source = "vocabulary";
};

/// Options of BERT's BasicTokenizer.
struct BasicTokenizerOptions {
    bool doLowerCase = true;
    /// Unset: strip accents exactly when lower-casing (Hugging Face's default).
    std::optional<bool> stripAccents;
    bool tokenizeChineseChars = true;
    /// Whitespace-separated tokens kept whole (no lower-casing, no punctuation split).
    std::vector<std::string> neverSplit = {kPadToken, kUnkToken, kClsToken, kSepToken, kMaskToken};
};

/// BERT's BasicTokenizer on UTF-8 text: removes NUL, U+FFFD and control characters, turns
/// whitespace into spaces, isolates CJK ideographs, lower-cases and strips accents (NFD, then drop
/// Mn marks) as asked, and splits on punctuation. Invalid UTF-8 bytes are dropped, as
/// tokenization.py's `decode("utf-8", "ignore")` does.
/// Example:
///     basicTokenize("Don't  Héllo!") == {"don", "'", "t", "hello", "!"}
std::vector<std::string> basicTokenize(const std::string& text,
                                       const BasicTokenizerOptions& options = {});

/// Ids and masks of one encoded example, all the same length.
struct Encoding {
    std::vector<int64_t> inputIds;
    /// 0 for [CLS] A [SEP], 1 for B [SEP].
    std::vector<int64_t> tokenTypeIds;
    /// 1 for real tokens, 0 for padding.
    std::vector<int64_t> attentionMask;
};

/// Basic tokenization followed by greedy longest-match-first WordPiece over a vocabulary.
class WordPieceTokenizer {
public:
    /// Needs [UNK], [CLS], [SEP] and [PAD] in `vocab`; throws DataError naming the vocabulary and
    /// the missing token.
    explicit WordPieceTokenizer(Vocab vocab, bool doLowerCase = true);
    WordPieceTokenizer(Vocab vocab, BasicTokenizerOptions options);

    /// Words longer than this (in code points) become [UNK].
    void setMaxInputCharsPerWord(int n) { m_maxInputCharsPerWord = n; }

    /// Text to WordPiece tokens, e.g. "unaffable" -> {"un", "##aff", "##able"}.
    std::vector<std::string> tokenize(const std::string& text) const;
    /// One basic token to WordPiece tokens: greedy longest match with "##" continuations; a word
    /// with no full segmentation, or longer than the limit, is a single [UNK].
    std::vector<std::string> wordPiece(const std::string& word) const;
    /// Token ids, [UNK] for tokens not in the vocabulary.
    std::vector<int64_t> toIds(const std::vector<std::string>& tokens) const;

    /// [CLS] A [SEP] (B [SEP]) as ids. When maxLength > 0 the pair is truncated "longest_first"
    /// (one token at a time from the longer of A and B, from B on a tie) so the whole fits in
    /// maxLength, and padded with [PAD] up to maxLength when padToMax. Throws DataError when
    /// maxLength cannot hold the special tokens.
    /// Example:
    ///     Encoding e = tok.encode("is it spam?", std::string("no"), 128, true);
    Encoding encode(const std::string& textA, const std::optional<std::string>& textB = {},
                    int maxLength = 0, bool padToMax = false) const;

    const Vocab& vocab() const { return m_vocab; }
    const BasicTokenizerOptions& options() const { return m_options; }

private:
    Vocab m_vocab;
    BasicTokenizerOptions m_options;
    int m_maxInputCharsPerWord = 100;
    int m_unkId = 0;
    int m_clsId = 0;
    int m_sepId = 0;
    int m_padId = 0;
};

/// Learns a WordPiece vocabulary from a corpus, deterministically (same texts and arguments, same
/// vocabulary, in the same order):
///  1. Every text is basic-tokenized (with `doLowerCase`) and words are counted; words seen fewer
///     than `minFrequency` times are dropped, and only the 50,000 most frequent words are kept
///     (ties by word), so the cost no longer depends on the corpus size.
///  2. The vocabulary starts with [PAD] [UNK] [CLS] [SEP] [MASK], then every character seen in the
///     corpus (rare words included) in its word-initial form, then all in their "##" form, each
///     list sorted by code point.
///  3. Each word is a sequence of symbols (first character, then "##" characters). Repeatedly,
///     the adjacent pair with the highest count (summed over word frequencies) is merged into one
///     new symbol, ties broken by the lexicographically smallest merged token; a pair needs at
///     least `minFrequency` occurrences. Stops at `vocabSize` tokens or when no pair is left.
/// Every character is in the vocabulary in both forms, so tokenizing the corpus with it yields no
/// [UNK] (except for words over the 100-character limit). The vocabulary holds the specials and
/// characters even when they exceed `vocabSize`.
/// Example:
///     Vocab v = buildWordPieceVocab(emails, 8000, 2, true);
Vocab buildWordPieceVocab(const std::vector<std::string>& texts, int vocabSize, int minFrequency,
                          bool doLowerCase);

}  // namespace qs::data
