// WordPiece tokenizer: BERT's basic tokenization (accents, punctuation, CJK, control characters,
// whitespace, never-split tokens), greedy WordPiece, pair encoding with truncation and padding,
// the exact error for each bad vocabulary file, and the vocabulary learner.
#include "engine/data/WordPiece.h"

#include <QElapsedTimer>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>
#include <set>

using namespace qs::data;

namespace {

QString errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const DataError& e) {
        return QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        return QStringLiteral("wrong exception type: ") + QString::fromStdString(e.what());
    }
    return QStringLiteral("no exception");
}

QString joined(const std::vector<std::string>& tokens) {
    QStringList parts;
    for (const std::string& t : tokens) {
        parts << QString::fromStdString(t);
    }
    return parts.join(QLatin1Char(' '));
}

std::string utf8(const QString& s) {
    return s.toStdString();
}

// The vocabulary of Hugging Face's and Google's tokenizer tests, plus a few tokens of our own.
Vocab classicVocab() {
    return Vocab({"[PAD]",  "[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed",
                  "wa",     "un",    "runn",  "##ing", ",",      "low",  "lowest", "##aff",
                  "##able", "hello", "don",   "'",     "t",      "!",    "?",      "a",
                  "##a",    "b",     "c",     "d",     "e",      "f"});
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(bytes);
}

std::vector<int64_t> ids(std::initializer_list<int64_t> v) {
    return std::vector<int64_t>(v);
}

}  // namespace

class TestWordPiece : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void basicTokenization_data();
    void basicTokenization();
    void wordPiece_data();
    void wordPiece();
    void overLongWordIsUnknown();
    void encodeSingle();
    void encodePair();
    void truncationLongestFirstAndPadding();
    void maxLengthTooSmall();
    void vocabRoundTrip();
    void vocabErrors();
    void missingSpecialToken();
    void learnerDeterministicAndComplete();
    void learnerStopsWhenCorpusExhausted();
    void learnerOnLargerCorpus();
};

void TestWordPiece::basicTokenization_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<bool>("lower");
    QTest::addColumn<QString>("expected");

    QTest::newRow("accent stripped when lower-casing") << "Héllo" << true << "hello";
    QTest::newRow("accent kept when cased") << "Héllo" << false << "Héllo";
    QTest::newRow("decomposed accent stripped")
        << QString::fromUtf8("he\u0301llo") << true << "hello";
    QTest::newRow("greek accent") << "Άλφα" << true << "αλφα";
    QTest::newRow("greek final sigma") << "ΟΔΟΣ ΣΑ Σ" << true << "οδος σα σ";
    QTest::newRow("turkish dotted capital I") << "İstanbul" << true << "istanbul";
    QTest::newRow("hugging face lower")
        << " \tHeLLo!how  \n Are yoU?  " << true << "hello ! how are you ?";
    QTest::newRow("hugging face cased")
        << " \tHeLLo!how  \n Are yoU?  " << false << "HeLLo ! how Are yoU ?";
    QTest::newRow("apostrophe and bang") << "don't!" << true << "don ' t !";
    QTest::newRow("ascii symbols that are not unicode punctuation")
        << "$5^2`~" << true << "$ 5 ^ 2 ` ~";
    QTest::newRow("unicode punctuation") << "a—b «c» d…" << true << "a — b « c » d …";
    QTest::newRow("fullwidth and CJK punctuation") << "x！y。z" << true << "x ！ y 。 z";
    QTest::newRow("chinese characters") << "中文abc" << true << "中 文 abc";
    QTest::newRow("hugging face chinese") << "ah博推zz" << true << "ah 博 推 zz";
    QTest::newRow("control characters removed")
        << QString::fromUtf8("he\x01llo\x7f wo\u200brld\u00ad\uFFFD") << true << "hello world";
    QTest::newRow("odd whitespace")
        << QString::fromUtf8("a\u00a0b\u3000c\td\r\ne\u2028f\u2003g") << true << "a b c d e f g";
    QTest::newRow("only whitespace") << " \t\n " << true << "";
    QTest::newRow("never split specials")
        << "[CLS] Hello [SEP] [MASK]" << true << "[CLS] hello [SEP] [MASK]";
    QTest::newRow("specials only when whitespace separated")
        << "[cls] x[SEP]" << true << "[ cls ] x [ sep ]";
}

void TestWordPiece::basicTokenization() {
    QFETCH(QString, text);
    QFETCH(bool, lower);
    QFETCH(QString, expected);
    BasicTokenizerOptions options;
    options.doLowerCase = lower;
    QCOMPARE(joined(basicTokenize(utf8(text), options)), expected);
}

void TestWordPiece::wordPiece_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");

    QTest::newRow("continuations") << "UNwant\u00E9d,running"
                                   << "un ##want ##ed , runn ##ing";
    QTest::newRow("unaffable") << "unaffable"
                               << "un ##aff ##able";
    QTest::newRow("no full segmentation") << "unwantedX running"
                                          << "[UNK] runn ##ing";
    QTest::newRow("empty") << ""
                           << "";
    QTest::newRow("special token kept") << "[CLS] hello [SEP]"
                                        << "[CLS] hello [SEP]";
    QTest::newRow("unknown character") << "lowest 中"
                                       << "lowest [UNK]";
}

void TestWordPiece::wordPiece() {
    QFETCH(QString, text);
    QFETCH(QString, expected);
    const WordPieceTokenizer tok(classicVocab());
    QCOMPARE(joined(tok.tokenize(utf8(text))), expected);
}

void TestWordPiece::overLongWordIsUnknown() {
    const WordPieceTokenizer tok(classicVocab());
    const std::vector<std::string> hundred = tok.tokenize(std::string(100, 'a'));
    QCOMPARE(hundred.size(), std::size_t(100));
    QCOMPARE(hundred[0], std::string("a"));
    QCOMPARE(hundred[99], std::string("##a"));
    QCOMPARE(joined(tok.tokenize(std::string(101, 'a') + " b")), QStringLiteral("[UNK] b"));
    // The limit counts code points, not bytes: 100 two-byte characters are still one word.
    const Vocab vocab({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "é", "##é"});
    BasicTokenizerOptions cased;
    cased.doLowerCase = false;
    const WordPieceTokenizer accents(vocab, cased);
    std::string word;
    for (int i = 0; i < 100; ++i) {
        word += "é";
    }
    QCOMPARE(accents.tokenize(word).size(), std::size_t(100));
    QCOMPARE(joined(accents.tokenize(word + "é")), QStringLiteral("[UNK]"));
}

void TestWordPiece::encodeSingle() {
    const WordPieceTokenizer tok(classicVocab());
    const Encoding e = tok.encode("unwanted running");
    // [CLS] un ##want ##ed runn ##ing [SEP]
    QCOMPARE(e.inputIds, ids({2, 9, 6, 7, 10, 11, 3}));
    QCOMPARE(e.tokenTypeIds, ids({0, 0, 0, 0, 0, 0, 0}));
    QCOMPARE(e.attentionMask, ids({1, 1, 1, 1, 1, 1, 1}));
    // Tokens outside the vocabulary become [UNK] (id 1).
    QCOMPARE(tok.toIds({"hello", "nope"}), ids({17, 1}));
}

void TestWordPiece::encodePair() {
    const WordPieceTokenizer tok(classicVocab());
    const Encoding e = tok.encode("hello!", std::string("low, lowest"));
    // [CLS] hello ! [SEP] low , lowest [SEP]
    QCOMPARE(e.inputIds, ids({2, 17, 21, 3, 13, 12, 14, 3}));
    QCOMPARE(e.tokenTypeIds, ids({0, 0, 0, 0, 1, 1, 1, 1}));
    QCOMPARE(e.attentionMask, ids({1, 1, 1, 1, 1, 1, 1, 1}));
}

void TestWordPiece::truncationLongestFirstAndPadding() {
    const WordPieceTokenizer tok(classicVocab());
    // A = a b c d e f (6), B = low lowest (2); maxLength 7 leaves 4: A loses 4 tokens.
    Encoding e = tok.encode("a b c d e f", std::string("low lowest"), 7, false);
    QCOMPARE(e.inputIds, ids({2, 23, 25, 3, 13, 14, 3}));
    QCOMPARE(e.tokenTypeIds, ids({0, 0, 0, 0, 1, 1, 1}));
    // maxLength 6 leaves 3: A down to 2 (ties go to B), then B loses one.
    e = tok.encode("a b c d e f", std::string("low lowest"), 6, false);
    QCOMPARE(e.inputIds, ids({2, 23, 25, 3, 13, 3}));
    // Equal lengths: B first, then alternate.
    e = tok.encode("a b c", std::string("d e f"), 6, false);
    QCOMPARE(e.inputIds, ids({2, 23, 25, 3, 27, 3}));
    // Single sequence truncated to maxLength - 2, then padded.
    e = tok.encode("a b c d e f", {}, 5, true);
    QCOMPARE(e.inputIds, ids({2, 23, 25, 26, 3}));
    e = tok.encode("hello", std::string("a"), 8, true);
    QCOMPARE(e.inputIds, ids({2, 17, 3, 23, 3, 0, 0, 0}));
    QCOMPARE(e.tokenTypeIds, ids({0, 0, 0, 1, 1, 0, 0, 0}));
    QCOMPARE(e.attentionMask, ids({1, 1, 1, 1, 1, 0, 0, 0}));
    // Without padToMax the result is only as long as needed.
    e = tok.encode("hello", {}, 8, false);
    QCOMPARE(e.inputIds, ids({2, 17, 3}));
}

void TestWordPiece::maxLengthTooSmall() {
    const WordPieceTokenizer tok(classicVocab());
    QCOMPARE(errorOf([&] { tok.encode("a", std::string("b"), 2, true); }),
             QStringLiteral("maximum sequence length 2 cannot hold the 3 special tokens"));
    QCOMPARE(tok.encode("a b", {}, 2, true).inputIds, ids({2, 3}));
}

void TestWordPiece::vocabRoundTrip() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string path = utf8(dir.filePath(QStringLiteral("vocab.txt")));
    const Vocab original = classicVocab();
    original.save(path);
    const Vocab loaded = Vocab::load(path);
    QCOMPARE(loaded.tokens(), original.tokens());
    QCOMPARE(loaded.source(), path);
    QCOMPARE(loaded.id("##aff"), 15);
    QCOMPARE(loaded.find("nope"), -1);
    QCOMPARE(loaded.token(3), kSepToken);
    QCOMPARE(loaded.padId(), 0);
    QCOMPARE(loaded.unkId(), 1);
    QCOMPARE(loaded.clsId(), 2);
    QCOMPARE(loaded.sepId(), 3);
    QCOMPARE(loaded.maskId(), 4);

    // CRLF line ends, a byte-order mark and no final newline are accepted; spaces are kept.
    const QString crlf = dir.filePath(QStringLiteral("crlf.txt"));
    writeFile(crlf, QByteArray("\xEF\xBB\xBF[PAD]\r\n[UNK]\r\nx y\r\n\xC3\xA9"));
    const Vocab v = Vocab::load(utf8(crlf));
    QCOMPARE(v.tokens(), std::vector<std::string>({"[PAD]", "[UNK]", "x y", "é"}));
}

void TestWordPiece::vocabErrors() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString missing = dir.filePath(QStringLiteral("missing.txt"));
    QCOMPARE(errorOf([&] { Vocab::load(utf8(missing)); }),
             missing + QStringLiteral(": no such vocabulary file"));

    QCOMPARE(errorOf([&] { Vocab::load(utf8(dir.path())); }),
             dir.path() + QStringLiteral(": not a regular file"));

    const QString empty = dir.filePath(QStringLiteral("empty.txt"));
    writeFile(empty, QByteArray());
    QCOMPARE(errorOf([&] { Vocab::load(utf8(empty)); }),
             empty + QStringLiteral(": the vocabulary file is empty"));

    const QString duplicate = dir.filePath(QStringLiteral("duplicate.txt"));
    writeFile(duplicate, QByteArray("[PAD]\nhello\n[UNK]\nhello\n"));
    QCOMPARE(errorOf([&] { Vocab::load(utf8(duplicate)); }),
             duplicate + QStringLiteral(":4: duplicate token 'hello' (first on line 2)"));

    const QString blank = dir.filePath(QStringLiteral("blank.txt"));
    writeFile(blank, QByteArray("[PAD]\n\n[UNK]\n"));
    QCOMPARE(errorOf([&] { Vocab::load(utf8(blank)); }), blank + QStringLiteral(":2: empty token"));

    const std::string unwritable = utf8(dir.filePath(QStringLiteral("no/such/dir/vocab.txt")));
    QCOMPARE(
        errorOf([&] { classicVocab().save(unwritable); }),
        QString::fromStdString(unwritable) + QStringLiteral(": cannot write the vocabulary file"));
}

void TestWordPiece::missingSpecialToken() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString path = dir.filePath(QStringLiteral("nounk.txt"));
    writeFile(path, QByteArray("[PAD]\n[CLS]\n[SEP]\nhello\n"));
    const Vocab vocab = Vocab::load(utf8(path));
    QCOMPARE(errorOf([&] { WordPieceTokenizer tok(vocab); }),
             path + QStringLiteral(": the vocabulary has no [UNK] token"));
    QCOMPARE(errorOf([&] { vocab.maskId(); }),
             path + QStringLiteral(": the vocabulary has no [MASK] token"));
}

void TestWordPiece::learnerDeterministicAndComplete() {
    const std::vector<std::string> corpus = {
        "The quick brown fox jumps over the lazy dog.",
        "The lazy dog sleeps; the quick fox doesn't.",
        "Über-café naïve résumé: 中文 text, FREE money!!! Click here: http://spam.example/win",
        "low lower lowest newer newest wider widest",
        "low lower lowest newer newest wider widest",
    };
    const Vocab v = buildWordPieceVocab(corpus, 120, 1, true);
    QCOMPARE(v.tokens(), buildWordPieceVocab(corpus, 120, 1, true).tokens());
    QCOMPARE(v.size(), 120);
    QCOMPARE(v.token(0), kPadToken);
    QCOMPARE(v.token(1), kUnkToken);
    QCOMPARE(v.token(2), kClsToken);
    QCOMPARE(v.token(3), kSepToken);
    QCOMPARE(v.token(4), kMaskToken);

    BasicTokenizerOptions options;
    const WordPieceTokenizer tok(v, options);
    for (const std::string& text : corpus) {
        for (const std::string& word : basicTokenize(text, options)) {
            const QString w = QString::fromStdString(word);
            for (qsizetype i = 0; i < w.size(); ++i) {
                const std::string c = utf8(w.mid(i, 1));
                QVERIFY2(v.contains(c) && v.contains("##" + c), c.c_str());
            }
        }
        const std::vector<std::string> tokens = tok.tokenize(text);
        QVERIFY(std::find(tokens.begin(), tokens.end(), kUnkToken) == tokens.end());
    }
    // Frequent words were merged into whole tokens.
    QVERIFY(v.contains("the"));
    QVERIFY(v.contains("low"));
    QVERIFY(v.contains("中"));
    QVERIFY(v.contains("e"));  // from the accent-stripped "café"
    QVERIFY(!v.contains("é"));
}

void TestWordPiece::learnerStopsWhenCorpusExhausted() {
    // Specials, a b c in both forms, then the merges. Both pairs of "abc" are seen twice; the tie
    // goes to the smaller merged token, and '#' sorts before 'a', so "##bc" comes before "abc".
    const Vocab v = buildWordPieceVocab({"abc abc"}, 1000, 1, true);
    QCOMPARE(v.tokens(),
             std::vector<std::string>({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c",
                                       "##a", "##b", "##c", "##bc", "abc"}));
    QCOMPARE(buildWordPieceVocab({"abc abc"}, 12, 1, true).tokens().back(), std::string("##bc"));
    // minFrequency: pairs seen once are not merged, and rare words still keep their characters.
    const Vocab rare = buildWordPieceVocab({"xy xy zq"}, 1000, 2, true);
    QCOMPARE(rare.size(), 5 + 8 + 1);
    QVERIFY(rare.contains("xy"));
    QVERIFY(!rare.contains("zq"));
    QVERIFY(rare.contains("##q"));
    // The specials and characters stay even when vocabSize is smaller.
    QCOMPARE(buildWordPieceVocab({"abc"}, 3, 1, true).size(), 11);
}

void TestWordPiece::learnerOnLargerCorpus() {
    // About 1 MB of pseudo-random words over a small alphabet: many merges, and no [UNK].
    std::vector<std::string> corpus;
    uint32_t state = 12345;
    auto next = [&state] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    const char* syllables[] = {"ka", "lo", "mi", "ne", "spa", "m", "free", "win", "st", "er"};
    for (int doc = 0; doc < 2000; ++doc) {
        std::string text;
        for (int w = 0; w < 80; ++w) {
            const int n = 1 + int(next() % 4);
            for (int s = 0; s < n; ++s) {
                text += syllables[next() % 10];
            }
            text += (next() % 7 == 0) ? ", " : " ";
        }
        corpus.push_back(text);
    }
    QElapsedTimer timer;
    timer.start();
    const Vocab v = buildWordPieceVocab(corpus, 3000, 2, true);
    qInfo("learned %d tokens in %lld ms", v.size(), timer.elapsed());
    QVERIFY(v.size() > 1000);
    QVERIFY(v.size() <= 3000);
    const WordPieceTokenizer tok(v);
    for (int i = 0; i < 50; ++i) {
        const std::vector<std::string> tokens = tok.tokenize(corpus[std::size_t(i)]);
        QVERIFY(std::find(tokens.begin(), tokens.end(), kUnkToken) == tokens.end());
    }
}

QTEST_GUILESS_MAIN(TestWordPiece)
#include "TestWordPiece.moc"
