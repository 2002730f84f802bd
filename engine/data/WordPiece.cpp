// WordPiece tokenization as in Google's tokenization.py and Hugging Face's BertTokenizer.
//
// Unicode: the character classes (Mn, P*, C*, Zs), str.lower() and the accent-stripping
// decompositions come from WordPieceTables.inc, generated from Python's unicodedata over all of
// Unicode (see packaging/WordPieceTables.py), so no ICU is needed. Hangul syllables are decomposed
// algorithmically. Not reproduced: the NFC normalisation newer Hugging Face versions apply before
// splitting, which only matters for cased vocabularies fed decomposed text.
#include "engine/data/WordPiece.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <queue>
#include <set>
#include <utility>

namespace qs::data {

namespace {

struct CodeRange {
    char32_t first;
    char32_t last;
};

struct CodeMap {
    char32_t from;
    char32_t to[3];
};

struct LowerRun {
    char32_t first;
    char32_t last;
    int stride;
    int delta;
};

#include "engine/data/WordPieceTables.inc"

const std::string kContinuation = "##";
// Words considered by the vocabulary learner; the rest only contribute their characters.
constexpr std::size_t kMaxLearnerWords = 50000;

template <std::size_t N>
bool inRanges(char32_t c, const CodeRange (&table)[N]) {
    const auto* it = std::upper_bound(std::begin(table), std::end(table), c,
                                      [](char32_t v, const CodeRange& r) { return v < r.first; });
    return it != std::begin(table) && c <= (it - 1)->last;
}

// Decodes UTF-8, dropping the bytes of invalid or truncated sequences, overlong forms,
// surrogates and values past U+10FFFF (Python's decode("utf-8", "ignore")).
std::u32string decodeUtf8(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const auto b0 = static_cast<unsigned char>(s[i]);
        if (b0 < 0x80) {
            out.push_back(b0);
            ++i;
            continue;
        }
        int len = 0;
        char32_t cp = 0;
        char32_t minimum = 0;
        if ((b0 & 0xE0) == 0xC0) {
            len = 2, cp = b0 & 0x1F, minimum = 0x80;
        } else if ((b0 & 0xF0) == 0xE0) {
            len = 3, cp = b0 & 0x0F, minimum = 0x800;
        } else if ((b0 & 0xF8) == 0xF0) {
            len = 4, cp = b0 & 0x07, minimum = 0x10000;
        } else {
            ++i;
            continue;
        }
        int k = 1;
        for (; k < len && i + k < n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) {
                break;
            }
            cp = (cp << 6) | (b & 0x3F);
        }
        if (k < len) {
            i += std::size_t(k);  // drop the broken prefix, resynchronise on the next byte
            continue;
        }
        i += std::size_t(len);
        if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) {
            continue;
        }
        out.push_back(cp);
    }
    return out;
}

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out.push_back(char(c));
    } else if (c < 0x800) {
        out.push_back(char(0xC0 | (c >> 6)));
        out.push_back(char(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(char(0xE0 | (c >> 12)));
        out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(char(0x80 | (c & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (c >> 18)));
        out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(char(0x80 | (c & 0x3F)));
    }
}

std::string toUtf8(const std::u32string& s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t c : s) {
        appendUtf8(out, c);
    }
    return out;
}

// tokenization.py's _is_control: categories C*, but tab, newline and carriage return are spaces.
bool isControl(char32_t c) {
    return c != U'\t' && c != U'\n' && c != U'\r' && inRanges(c, kControlRanges);
}

bool isWhitespace(char32_t c) {
    return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || inRanges(c, kSpaceRanges);
}

// _is_punctuation: the ASCII non-alphanumeric symbols ("^", "$", "`" are not P* in Unicode but
// BERT splits on them) and every P* character.
bool isPunctuation(char32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
        (c >= 123 && c <= 126)) {
        return true;
    }
    return inRanges(c, kPunctuationRanges);
}

// _is_chinese_char: the CJK Unified Ideographs blocks only (not Hangul, kana or CJK symbols).
bool isChineseChar(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Characters Python's str.split() separates words on once the text is cleaned.
bool splitsWords(char32_t c) {
    return c == U' ' || inRanges(c, kSplitRanges);
}

// Python's final sigma rule: capital sigma lowers to U+03C2 after a cased letter that is not
// followed by one, case-ignorable characters skipped both ways (handle_capital_sigma in CPython).
bool isFinalSigma(const std::u32string& word, std::size_t i) {
    std::size_t j = i;
    while (j > 0 && inRanges(word[j - 1], kCaseIgnorableRanges)) {
        --j;
    }
    if (j == 0 || !inRanges(word[j - 1], kCasedRanges)) {
        return false;
    }
    j = i + 1;
    while (j < word.size() && inRanges(word[j], kCaseIgnorableRanges)) {
        ++j;
    }
    return j == word.size() || !inRanges(word[j], kCasedRanges);
}

// str.lower() of a whole word.
std::u32string lowerCase(const std::u32string& word) {
    std::u32string out;
    out.reserve(word.size());
    for (std::size_t i = 0; i < word.size(); ++i) {
        const char32_t c = word[i];
        if (c == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: "i" + COMBINING DOT ABOVE
            out.push_back(U'i');
            out.push_back(0x307);
            continue;
        }
        if (c == 0x3A3) {
            out.push_back(isFinalSigma(word, i) ? 0x3C2 : 0x3C3);
            continue;
        }
        const auto* it =
            std::upper_bound(std::begin(kLowerRuns), std::end(kLowerRuns), c,
                             [](char32_t v, const LowerRun& r) { return v < r.first; });
        if (it != std::begin(kLowerRuns)) {
            const LowerRun& run = *(it - 1);
            if (c <= run.last && (c - run.first) % char32_t(run.stride) == 0) {
                out.push_back(char32_t(int64_t(c) + run.delta));
                continue;
            }
        }
        out.push_back(c);
    }
    return out;
}

// _run_strip_accents: NFD, then drop the Mn characters.
void appendStripped(std::u32string& out, char32_t c) {
    if (inRanges(c, kMarkRanges)) {
        return;
    }
    if (c >= 0xAC00 && c <= 0xD7A3) {  // Hangul syllable -> leading, vowel (, trailing) jamo
        const char32_t s = c - 0xAC00;
        out.push_back(0x1100 + s / (21 * 28));
        out.push_back(0x1161 + (s % (21 * 28)) / 28);
        if (s % 28 != 0) {
            out.push_back(0x11A7 + s % 28);
        }
        return;
    }
    const auto* it = std::lower_bound(std::begin(kStripMap), std::end(kStripMap), c,
                                      [](const CodeMap& m, char32_t v) { return m.from < v; });
    if (it != std::end(kStripMap) && it->from == c) {
        for (char32_t t : it->to) {
            if (t != 0) {
                out.push_back(t);
            }
        }
        return;
    }
    out.push_back(c);
}

// _run_split_on_punc: every punctuation character becomes its own token.
void splitOnPunctuation(const std::u32string& word, std::vector<std::string>& out) {
    std::u32string current;
    for (char32_t c : word) {
        if (isPunctuation(c)) {
            if (!current.empty()) {
                out.push_back(toUtf8(current));
                current.clear();
            }
            out.push_back(toUtf8(std::u32string(1, c)));
        } else {
            current.push_back(c);
        }
    }
    if (!current.empty()) {
        out.push_back(toUtf8(current));
    }
}

}  // namespace

// ---- Vocab ------------------------------------------------------------------------------------

Vocab::Vocab(std::vector<std::string> tokens, std::string source)
    : m_tokens(std::move(tokens)), m_source(std::move(source)) {
    if (m_tokens.empty()) {
        throw DataError(m_source + ": the vocabulary is empty");
    }
    m_ids.reserve(m_tokens.size());
    for (std::size_t i = 0; i < m_tokens.size(); ++i) {
        const std::string where = m_source + ":" + std::to_string(i + 1) + ": ";
        if (m_tokens[i].empty()) {
            throw DataError(where + "empty token");
        }
        const auto [it, inserted] = m_ids.emplace(m_tokens[i], int(i));
        if (!inserted) {
            throw DataError(where + "duplicate token '" + m_tokens[i] + "' (first on line " +
                            std::to_string(it->second + 1) + ")");
        }
    }
}

Vocab Vocab::load(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        throw DataError(path + ": no such vocabulary file");
    }
    if (!std::filesystem::is_regular_file(path, ec)) {
        throw DataError(path + ": not a regular file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw DataError(path + ": cannot be read");
    }
    std::vector<std::string> tokens;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
            line.pop_back();
        }
        if (tokens.empty() && line.compare(0, 3, "\xEF\xBB\xBF") == 0) {
            line.erase(0, 3);
        }
        tokens.push_back(line);
    }
    if (in.bad()) {
        throw DataError(path + ": read error");
    }
    if (tokens.empty()) {
        throw DataError(path + ": the vocabulary file is empty");
    }
    return Vocab(std::move(tokens), path);
}

void Vocab::save(const std::string& path) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (const std::string& t : m_tokens) {
        out << t << '\n';
    }
    out.flush();
    if (!out) {
        throw DataError(path + ": cannot write the vocabulary file");
    }
}

int Vocab::find(const std::string& token) const {
    const auto it = m_ids.find(token);
    return it == m_ids.end() ? -1 : it->second;
}

int Vocab::id(const std::string& token) const {
    const int i = find(token);
    if (i < 0) {
        throw DataError(m_source + ": the vocabulary has no " + token + " token");
    }
    return i;
}

// ---- Basic tokenization -----------------------------------------------------------------------

std::vector<std::string> basicTokenize(const std::string& text,
                                       const BasicTokenizerOptions& options) {
    // _clean_text and _tokenize_chinese_chars in one pass.
    std::u32string cleaned;
    for (char32_t c : decodeUtf8(text)) {
        if (c == 0 || c == 0xFFFD || isControl(c)) {
            continue;
        }
        if (isWhitespace(c)) {
            cleaned.push_back(U' ');
        } else if (options.tokenizeChineseChars && isChineseChar(c)) {
            cleaned.push_back(U' ');
            cleaned.push_back(c);
            cleaned.push_back(U' ');
        } else {
            cleaned.push_back(c);
        }
    }

    const bool strip = options.stripAccents.value_or(options.doLowerCase);
    std::vector<std::string> out;
    std::u32string word;
    std::u32string folded;
    auto flush = [&] {
        if (word.empty()) {
            return;
        }
        const std::string utf8 = toUtf8(word);
        if (std::find(options.neverSplit.begin(), options.neverSplit.end(), utf8) !=
            options.neverSplit.end()) {
            out.push_back(utf8);
        } else {
            if (options.doLowerCase) {
                word = lowerCase(word);
            }
            if (strip) {
                folded.clear();
                for (char32_t c : word) {
                    appendStripped(folded, c);
                }
                word.swap(folded);
            }
            splitOnPunctuation(word, out);
        }
        word.clear();
    };
    for (char32_t c : cleaned) {
        if (splitsWords(c)) {
            flush();
        } else {
            word.push_back(c);
        }
    }
    flush();
    return out;
}

// ---- WordPiece --------------------------------------------------------------------------------

WordPieceTokenizer::WordPieceTokenizer(Vocab vocab, bool doLowerCase)
    : WordPieceTokenizer(std::move(vocab), [doLowerCase] {
          BasicTokenizerOptions o;
          o.doLowerCase = doLowerCase;
          return o;
      }()) {}

WordPieceTokenizer::WordPieceTokenizer(Vocab vocab, BasicTokenizerOptions options)
    : m_vocab(std::move(vocab)), m_options(std::move(options)) {
    m_unkId = m_vocab.unkId();
    m_clsId = m_vocab.clsId();
    m_sepId = m_vocab.sepId();
    m_padId = m_vocab.padId();
}

std::vector<std::string> WordPieceTokenizer::wordPiece(const std::string& word) const {
    // Byte offset of each code point, so candidate pieces are substrings of `word`.
    std::vector<std::size_t> offsets;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if ((static_cast<unsigned char>(word[i]) & 0xC0) != 0x80) {
            offsets.push_back(i);
        }
    }
    const std::size_t chars = offsets.size();
    offsets.push_back(word.size());
    if (chars == 0) {
        return {};
    }
    if (chars > std::size_t(m_maxInputCharsPerWord)) {
        return {kUnkToken};
    }
    std::vector<std::string> pieces;
    std::string candidate;
    std::size_t start = 0;
    while (start < chars) {
        std::size_t end = chars;
        bool found = false;
        for (; end > start; --end) {
            candidate.assign(start > 0 ? kContinuation : std::string());
            candidate.append(word, offsets[start], offsets[end] - offsets[start]);
            if (m_vocab.contains(candidate)) {
                found = true;
                break;
            }
        }
        if (!found) {
            return {kUnkToken};
        }
        pieces.push_back(candidate);
        start = end;
    }
    return pieces;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
    std::vector<std::string> out;
    for (const std::string& word : basicTokenize(text, m_options)) {
        for (std::string& piece : wordPiece(word)) {
            out.push_back(std::move(piece));
        }
    }
    return out;
}

std::vector<int64_t> WordPieceTokenizer::toIds(const std::vector<std::string>& tokens) const {
    std::vector<int64_t> ids;
    ids.reserve(tokens.size());
    for (const std::string& t : tokens) {
        const int id = m_vocab.find(t);
        ids.push_back(id < 0 ? m_unkId : id);
    }
    return ids;
}

Encoding WordPieceTokenizer::encode(const std::string& textA,
                                    const std::optional<std::string>& textB, int maxLength,
                                    bool padToMax) const {
    std::vector<int64_t> a = toIds(tokenize(textA));
    std::vector<int64_t> b;
    if (textB) {
        b = toIds(tokenize(*textB));
    }
    const std::size_t specials = textB ? 3 : 2;
    if (maxLength > 0) {
        if (std::size_t(maxLength) < specials) {
            throw DataError("maximum sequence length " + std::to_string(maxLength) +
                            " cannot hold the " + std::to_string(specials) + " special tokens");
        }
        // longest_first: one token at a time off the longer sequence, off B on a tie.
        const std::size_t budget = std::size_t(maxLength) - specials;
        while (a.size() + b.size() > budget) {
            if (a.size() > b.size()) {
                a.pop_back();
            } else {
                b.pop_back();
            }
        }
    }
    Encoding e;
    e.inputIds.push_back(m_clsId);
    e.inputIds.insert(e.inputIds.end(), a.begin(), a.end());
    e.inputIds.push_back(m_sepId);
    e.tokenTypeIds.assign(e.inputIds.size(), 0);
    if (textB) {
        e.inputIds.insert(e.inputIds.end(), b.begin(), b.end());
        e.inputIds.push_back(m_sepId);
        e.tokenTypeIds.resize(e.inputIds.size(), 1);
    }
    e.attentionMask.assign(e.inputIds.size(), 1);
    if (padToMax && maxLength > 0) {
        e.inputIds.resize(std::size_t(maxLength), m_padId);
        e.tokenTypeIds.resize(std::size_t(maxLength), 0);
        e.attentionMask.resize(std::size_t(maxLength), 0);
    }
    return e;
}

// ---- Vocabulary learner -----------------------------------------------------------------------

namespace {

// BPE over symbol ids with incremental pair counts: each merge only revisits the words that
// contain the merged pair, and the best pair comes from a lazily updated heap.
class PairMerger {
public:
    PairMerger(std::vector<std::vector<int>> words, std::vector<int64_t> freqs,
               std::vector<std::string>& tokens, std::unordered_map<std::string, int>& ids)
        : m_words(std::move(words)), m_freqs(std::move(freqs)), m_tokens(tokens), m_ids(ids) {
        m_stamp.assign(m_words.size(), -1);
        for (std::size_t w = 0; w < m_words.size(); ++w) {
            addPairs(int(w), +1);
        }
        for (const auto& [key, count] : m_counts) {
            push(key, count);
        }
    }

    void run(int vocabSize, int64_t minFrequency) {
        int round = 0;
        while (int(m_tokens.size()) < vocabSize && !m_heap.empty()) {
            const Entry top = m_heap.top();
            m_heap.pop();
            const auto it = m_counts.find(top.key);
            if (it == m_counts.end() || it->second != top.count) {
                continue;  // stale entry; the current count has its own entry
            }
            if (top.count < minFrequency) {
                break;
            }
            merge(top.key, top.merged, round++);
        }
    }

private:
    struct Entry {
        int64_t count;
        std::string merged;
        uint64_t key;
    };
    // Highest count first, then the smallest merged token, then the smallest pair of ids.
    struct Lower {
        bool operator()(const Entry& x, const Entry& y) const {
            if (x.count != y.count) {
                return x.count < y.count;
            }
            if (x.merged != y.merged) {
                return x.merged > y.merged;
            }
            return x.key > y.key;
        }
    };

    static uint64_t keyOf(int a, int b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

    std::string mergedToken(uint64_t key) const {
        const std::string& second = m_tokens[std::size_t(key & 0xFFFFFFFFu)];
        return m_tokens[std::size_t(key >> 32)] + second.substr(kContinuation.size());
    }

    void push(uint64_t key, int64_t count) {
        if (count > 0) {
            m_heap.push({count, mergedToken(key), key});
        }
    }

    void addPairs(int w, int sign) {
        const std::vector<int>& symbols = m_words[std::size_t(w)];
        for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
            const uint64_t key = keyOf(symbols[i], symbols[i + 1]);
            m_counts[key] += sign * m_freqs[std::size_t(w)];
            if (sign > 0) {
                m_where[key].push_back(w);
            }
        }
    }

    void merge(uint64_t key, const std::string& merged, int round) {
        int newId = 0;
        const auto found = m_ids.find(merged);
        if (found != m_ids.end()) {
            newId = found->second;  // another pair already produced this token
        } else {
            newId = int(m_tokens.size());
            m_tokens.push_back(merged);
            m_ids.emplace(merged, newId);
        }
        const int a = int(key >> 32);
        const int b = int(key & 0xFFFFFFFFu);
        std::set<uint64_t> touched;
        const std::vector<int> words = std::move(m_where[key]);
        m_where.erase(key);
        for (int w : words) {
            if (m_stamp[std::size_t(w)] == round) {
                continue;
            }
            m_stamp[std::size_t(w)] = round;
            std::vector<int>& symbols = m_words[std::size_t(w)];
            bool present = false;
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                present = present || (symbols[i] == a && symbols[i + 1] == b);
            }
            if (!present) {
                continue;
            }
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                touched.insert(keyOf(symbols[i], symbols[i + 1]));
            }
            addPairs(w, -1);
            std::vector<int> next;
            next.reserve(symbols.size());
            for (std::size_t i = 0; i < symbols.size(); ++i) {
                if (i + 1 < symbols.size() && symbols[i] == a && symbols[i + 1] == b) {
                    next.push_back(newId);
                    ++i;
                } else {
                    next.push_back(symbols[i]);
                }
            }
            symbols.swap(next);
            addPairs(w, +1);
            for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
                touched.insert(keyOf(symbols[i], symbols[i + 1]));
            }
        }
        m_counts.erase(key);
        for (uint64_t k : touched) {
            const auto it = m_counts.find(k);
            if (it == m_counts.end()) {
                continue;
            }
            if (it->second <= 0) {
                m_counts.erase(it);
            } else {
                push(k, it->second);
            }
        }
    }

    std::vector<std::vector<int>> m_words;
    std::vector<int64_t> m_freqs;
    std::vector<std::string>& m_tokens;
    std::unordered_map<std::string, int>& m_ids;
    std::unordered_map<uint64_t, int64_t> m_counts;
    std::unordered_map<uint64_t, std::vector<int>> m_where;
    std::vector<int> m_stamp;
    std::priority_queue<Entry, std::vector<Entry>, Lower> m_heap;
};

}  // namespace

Vocab buildWordPieceVocab(const std::vector<std::string>& texts, int vocabSize, int minFrequency,
                          bool doLowerCase) {
    BasicTokenizerOptions options;
    options.doLowerCase = doLowerCase;
    options.neverSplit.clear();  // special tokens in the corpus are learned as plain text

    std::unordered_map<std::string, int64_t> wordCounts;
    for (const std::string& text : texts) {
        for (std::string& word : basicTokenize(text, options)) {
            ++wordCounts[std::move(word)];
        }
    }

    std::set<char32_t> chars;
    std::vector<std::pair<std::string, int64_t>> words;
    const int64_t minCount = std::max(1, minFrequency);
    for (const auto& [word, count] : wordCounts) {
        const std::u32string decoded = decodeUtf8(word);
        chars.insert(decoded.begin(), decoded.end());
        if (count >= minCount && decoded.size() <= 100) {
            words.emplace_back(word, count);
        }
    }
    // Most frequent first, ties by word, so the cap and the symbol order are deterministic.
    std::sort(words.begin(), words.end(), [](const auto& x, const auto& y) {
        return x.second != y.second ? x.second > y.second : x.first < y.first;
    });
    if (words.size() > kMaxLearnerWords) {
        words.resize(kMaxLearnerWords);
    }

    std::vector<std::string> tokens = {kPadToken, kUnkToken, kClsToken, kSepToken, kMaskToken};
    std::unordered_map<std::string, int> ids;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        ids.emplace(tokens[i], int(i));
    }
    std::unordered_map<char32_t, int> initialId;
    std::unordered_map<char32_t, int> continuationId;
    for (const std::string& prefix : {std::string(), kContinuation}) {
        for (char32_t c : chars) {
            std::string t = prefix;
            appendUtf8(t, c);
            // A corpus word like "[PAD]" is split on punctuation, so no character clashes with a
            // special token; emplace keeps the first id all the same.
            const auto [it, inserted] = ids.emplace(t, int(tokens.size()));
            if (inserted) {
                tokens.push_back(t);
            }
            (prefix.empty() ? initialId : continuationId)[c] = it->second;
        }
    }

    std::vector<std::vector<int>> symbols;
    std::vector<int64_t> freqs;
    symbols.reserve(words.size());
    for (const auto& [word, count] : words) {
        std::vector<int> s;
        for (char32_t c : decodeUtf8(word)) {
            s.push_back(s.empty() ? initialId.at(c) : continuationId.at(c));
        }
        symbols.push_back(std::move(s));
        freqs.push_back(count);
    }
    PairMerger merger(std::move(symbols), std::move(freqs), tokens, ids);
    merger.run(vocabSize, minCount);
    return Vocab(std::move(tokens), "learned vocabulary");
}

}  // namespace qs::data
