// Text datasets as plain strings: the GLUE benchmark's TSV files and the SpamAssassin public
// corpus, read into one value type that the tokenizer and the BERT trainer consume. Torch-free
// and Qt-free, so the readers can be tested and fuzzed on their own.
#pragma once

#include "engine/data/ImageSet.h"  // DataError: the one error type of all dataset readers

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace qs::data {

/// One example: a sentence (textA) or a sentence pair (textA, textB), and its gold answer.
struct TextExample {
    std::string textA;
    std::string textB;  ///< Empty for single-sentence tasks.
    int label = -1;  ///< Class index into TextDataset::labelNames; -1 when unlabeled or regression.
    float score =
        std::numeric_limits<float>::quiet_NaN();  ///< Regression target (STS-B), else NaN.
    std::string id;  ///< "<split>-<row>" for GLUE (row counts data rows from 0); "<group>/<file>"
                     ///< for SpamAssassin.
};

/// A whole split of one task.
struct TextDataset {
    std::string task;   ///< Canonical name: "CoLA", "SST-2", ..., "WNLI", "SpamAssassin".
    std::string split;  ///< "train", "dev", "dev_matched", "test", ...
    std::vector<TextExample> examples;
    int numLabels = 0;  ///< Number of classes; 1 for regression (STS-B).
    bool regression = false;
    bool labeled = true;                  ///< False for GLUE test files, which carry no labels.
    bool pairs = false;                   ///< True when examples carry textB (sentence-pair tasks).
    std::vector<std::string> labelNames;  ///< labelNames[label] is the label as the files spell it.
    int skippedRows = 0;        ///< QQP rows with missing fields, skipped as HF's processor does.
    int duplicatesDropped = 0;  ///< SpamAssassin messages whose content repeats an earlier one.
};

/// The nine GLUE tasks by canonical name, in the benchmark's order.
std::vector<std::string> glueTasks();

/// The canonical GLUE task name for a loose spelling ("cola", "sst2", "STS-B", "sts_b", "mnli-mm"
/// is not a task: use split "dev_mismatched"). Throws std::invalid_argument for an unknown task.
std::string glueTaskName(const std::string& task);

/// Reads one split of a GLUE task folder in the layout of the GLUE benchmark's download script
/// (`glue_data/<Task>/`). `folder` is the task folder; a parent holding `<Task>/` also works.
/// Splits: "train" (train.tsv), "dev" (dev.tsv; for MNLI the same as "dev_matched"),
/// "dev_matched" and "dev_mismatched" (MNLI only), and "test" (test.tsv; MNLI: "test_matched",
/// "test_mismatched"), read unlabeled.
///
/// The files use no quoting at all (QUOTE_NONE): fields are split on tabs only and quotes are
/// ordinary characters. A trailing '\r' and a UTF-8 byte-order mark are dropped; empty lines are
/// skipped. Columns read, 0-based (as in Hugging Face's `glue.py` processors):
///
/// | task  | header | train/dev: textA, textB, label            | test: textA, textB |
/// |-------|--------|--------------------------------------------|--------------------|
/// | CoLA  | no     | 3, -, 1 (source, label, orig. label, text) | 1, - (header)      |
/// | SST-2 | yes    | 0, -, 1 (sentence, label)                  | 1, -               |
/// | MRPC  | yes    | 3, 4, 0 (Quality, #1 ID, #2 ID, #1 String, #2 String) | 3, 4    |
/// | STS-B | yes    | 7, 8, last = score in [0, 5] (regression)  | 7, 8               |
/// | QQP   | yes    | 3, 4, 5 (id, qid1, qid2, q1, q2, is_duplicate) | 1, 2           |
/// | MNLI  | yes    | 8, 9, last (gold_label)                    | 8, 9               |
/// | QNLI  | yes    | 1, 2, last (index, question, sentence, label) | 1, 2            |
/// | RTE   | yes    | 1, 2, last (index, sentence1, sentence2, label) | 1, 2          |
/// | WNLI  | yes    | 1, 2, last (index, sentence1, sentence2, label) | 1, 2          |
///
/// Labels (index = position): CoLA, SST-2, MRPC, QQP, WNLI "0" "1"; MNLI "contradiction"
/// "entailment" "neutral"; QNLI, RTE "entailment" "not_entailment".
///
/// Throws DataError "<file>:<line>: <problem>" for a row with too few columns, an unknown label or
/// a score that is not a number in [0, 5]; "<file>: cannot open ..." for a missing file. Exception:
/// QQP rows with too few columns are skipped and counted in skippedRows, as HF's processor skips
/// them (the official QQP train file holds a few such rows).
///
/// Example:
/// @code
///   TextDataset dev = readGlue("/data/glue_data/MRPC", "mrpc", "dev");
///   // dev.examples[i].textA / textB / label, dev.labelNames == {"0", "1"}
/// @endcode
TextDataset readGlue(const std::string& folder, const std::string& task, const std::string& split);

/// `$XDG_DATA_HOME/quantscape/datasets/spam-assassin/data` (XDG_DATA_HOME defaults to
/// ~/.local/share), where packaging/setup.sh installs the corpus.
std::string defaultSpamAssassinFolder();

/// The text a model sees for one raw RFC 822 message: the Subject header's value, a newline, then
/// the body, capped at maxBytes (cut back to a UTF-8 character boundary). Headers other than
/// Subject are dropped (folded header lines are unfolded). MIME: multipart bodies are walked
/// recursively (depth 8 at most; a message/rfc822 part adds its own Subject). text/* parts and
/// entities without a Content-Type are kept, their quoted-printable or base64 transfer encoding
/// decoded (about 1 % of the corpus, mostly spam, is base64 HTML: dropping it would leave spam
/// recognisable by its empty body); HTML is kept as is. Non-text parts (images, attachments,
/// application/*) are dropped with their payloads: their bytes carry no words for the tokenizer.
/// Charsets and RFC 2047 encoded words (=?iso-8859-1?Q?...?=) are not decoded; bytes pass as is.
std::string spamAssassinText(const std::string& rawMessage, std::size_t maxBytes = 20000);

/// Reads the SpamAssassin public corpus: `folder/<group>/*.txt` (raw messages; a message present
/// only as `.json` is read from its "text" field) for groups spam-1, spam-2 (label 1, "spam") and
/// easy-ham-1, easy-ham-2, hard-ham-1 (label 0, "ham"). `folder` is the `data` folder or its
/// parent. Messages are deduplicated by a 64-bit FNV-1a hash of their raw bytes (first occurrence
/// kept in group order, count in duplicatesDropped; the installed corpus has none).
///
/// Split: deterministic by the content hash, not file order, not stratified: hash (mixed) mod 10
/// gives 0-7 "train", 8 "dev", 9 "test" (about 80/10/10, both classes in each for the full
/// corpus); "all" returns everything. Examples are ordered by group, then file name.
/// Throws DataError naming the folder when it or all groups are missing or hold no messages, and
/// std::invalid_argument for an unknown split.
TextDataset readSpamAssassin(const std::string& folder, const std::string& split);

/// readSpamAssassin(defaultSpamAssassinFolder(), split).
TextDataset readSpamAssassin(const std::string& split);

}  // namespace qs::data
