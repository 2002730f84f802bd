#include "engine/store/RunStore.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iterator>
#include <limits>
#include <utility>

namespace qs::store {
namespace {

// How long open waits for the write lock to mark interrupted runs before leaving that to a later
// open: the window opens the store for every listing, on its GUI thread.
constexpr int kMarkingTimeoutMs = 1000;

// 'QSRS' in the header's application_id field: tells our files apart from other SQLite files.
constexpr int kApplicationId = 0x51535253;

struct Migration {
    int version;
    const char* sql;
};

// Forward migrations, applied in order; migration N moves a file from version N-1 to N. A released
// migration is never edited: a schema change is a new entry at the end.
//
// Notes on the schema:
// - Doubles are REAL columns that may be NULL: SQLite stores NaN as NULL, and a diverged loss is
//   a value worth recording, so NULL reads back as NaN.
// - metrics and layer_states have one row per (run, step, key/layer): a run resumed from an
//   earlier checkpoint re-logs those steps and the newer value replaces the older one.
// - landscapes.loss_values/acc_values are ny x nx little-endian float64 blobs, x fastest; a NaN
//   loss marks a pending point (not computed yet), so a computation resumes where it stopped.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    versions TEXT NOT NULL,
    checkpoint_dir TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE final_metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, key)
);
CREATE TABLE metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    key TEXT NOT NULL,
    value REAL,
    UNIQUE (run_id, key, step)
);
CREATE INDEX metrics_run_step ON metrics(run_id, step);
CREATE TABLE layer_states (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    layer TEXT NOT NULL,
    weight_bits INTEGER NOT NULL,
    act_bits INTEGER NOT NULL,
    weight_steps BLOB NOT NULL,
    act_step REAL,
    weight_error REAL,
    act_error REAL,
    weight_clip REAL,
    act_clip REAL,
    UNIQUE (run_id, step, layer)
);
CREATE TABLE landscapes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    nx INTEGER NOT NULL,
    ny INTEGER NOT NULL,
    grid_values BLOB NOT NULL,
    directions_seed INTEGER NOT NULL,
    mode TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX landscapes_run_step ON landscapes(run_id, step);
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX artifacts_run ON artifacts(run_id);
)sql"},
    {2, R"sql(
CREATE TABLE sharpness (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    measure TEXT NOT NULL,
    mode TEXT NOT NULL,
    radius REAL,
    value REAL,
    base_loss REAL,
    perturbed_loss REAL,
    ascent_steps INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX sharpness_run ON sharpness(run_id);
)sql"},
    // Version 3: loss landscapes as resumable computations (the v1 table was never written:
    // it is replaced), Hessian figures with their per-layer traces and sensitivities.
    {3, R"sql(
DROP TABLE landscapes;
CREATE TABLE landscapes (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    mode TEXT NOT NULL,
    nx INTEGER NOT NULL,
    ny INTEGER NOT NULL,
    x_min REAL NOT NULL,
    x_max REAL NOT NULL,
    y_min REAL NOT NULL,
    y_max REAL NOT NULL,
    directions_seed INTEGER NOT NULL,
    samples INTEGER NOT NULL,
    options_json TEXT NOT NULL,
    status TEXT NOT NULL,
    loss_values BLOB NOT NULL,
    acc_values BLOB NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX landscapes_run_step ON landscapes(run_id, step);
CREATE TABLE hessian (
    id INTEGER PRIMARY KEY,
    run_id INTEGER REFERENCES runs(id) ON DELETE CASCADE,
    checkpoint TEXT NOT NULL,
    step INTEGER NOT NULL,
    mode TEXT NOT NULL,
    samples INTEGER NOT NULL,
    seed INTEGER NOT NULL,
    trace_samples INTEGER NOT NULL,
    eigenvalues_json TEXT NOT NULL,
    trace REAL,
    trace_se REAL,
    created_at TEXT NOT NULL
);
CREATE INDEX hessian_run ON hessian(run_id);
CREATE TABLE hessian_layers (
    hessian_id INTEGER NOT NULL REFERENCES hessian(id) ON DELETE CASCADE,
    layer TEXT NOT NULL,
    params INTEGER NOT NULL,
    trace REAL,
    trace_se REAL,
    omega_json TEXT NOT NULL,
    PRIMARY KEY (hessian_id, layer)
);
)sql"},
};

constexpr bool migrationsAreContiguous() {
    for (size_t i = 0; i < std::size(kMigrations); ++i) {
        if (kMigrations[i].version != static_cast<int>(i) + 1) {
            return false;
        }
    }
    return true;
}
static_assert(migrationsAreContiguous(), "migrations must be numbered 1, 2, 3, ... in order");

constexpr int kSchemaVersion = kMigrations[std::size(kMigrations) - 1].version;

// What the user reads instead of SQLite's terse "database is locked", "attempt to write a
// readonly database" or "database or disk is full", after "<file>: <what failed>: ".
constexpr const char* kBusyText =
    "the run store is busy: another Quantscape instance or process has kept it locked for longer "
    "than the busy timeout; try again when that one has finished writing";
constexpr const char* kReadOnlyText =
    "the run store is read-only: runs cannot be recorded (check the permissions of the file and "
    "its folder, and whether its disk is mounted read-only)";
constexpr const char* kFullText =
    "the disk holding the run store is full, or the store reached its size limit: nothing of "
    "this write was kept and what was recorded before is intact; free some space and try again";

/// The last error on `db` as a StoreError. Busy, read-only and full stores are said in plain
/// words with their own Kind (SQLite's message kept in brackets): a user can act on those.
StoreError sqliteError(sqlite3* db, const std::string& path, const std::string& what) {
    const std::string prefix = path + ": " + what;
    if (db == nullptr) {
        return StoreError(prefix);
    }
    const int code = sqlite3_extended_errcode(db);
    const int primary = code & 0xff;
    const std::string detail = sqlite3_errmsg(db);
    // The OS error is only meaningful for the codes that come from a failed system call.
    const int osError =
        primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN ? sqlite3_system_errno(db) : 0;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        return StoreError(prefix + ": " + kBusyText + " (" + detail + ")", StoreError::Kind::Busy);
    }
    if (code == SQLITE_READONLY_DBMOVED) {
        return StoreError(prefix + ": the run store file was moved or deleted while it was open; " +
                          "open it again (" + detail + ")");
    }
    if (primary == SQLITE_READONLY || osError == EROFS || osError == EACCES || osError == EPERM) {
        return StoreError(prefix + ": " + kReadOnlyText + " (" + detail + ")",
                          StoreError::Kind::ReadOnly);
    }
    // A write that hits ENOSPC is SQLITE_FULL; a failed ftruncate, fsync or shm growth is an
    // I/O error with the OS error kept.
    if (primary == SQLITE_FULL || osError == ENOSPC || osError == EDQUOT) {
        return StoreError(prefix + ": " + kFullText + " (" + detail + ")", StoreError::Kind::Full);
    }
    return StoreError(prefix + ": " + detail);
}

[[noreturn]] void throwSqlite(sqlite3* db, const std::string& path, const std::string& what) {
    throw sqliteError(db, path, what);
}

StoreError readOnlyError(const std::string& path, const std::string& what) {
    return StoreError(path + ": " + what + ": " + kReadOnlyText, StoreError::Kind::ReadOnly);
}

/// Holds the connection's own (recursive) mutex for one public call, so that a RunStore shared by
/// threads runs each call, transaction included, as a unit.
class ConnectionLock {
public:
    explicit ConnectionLock(sqlite3* db) : m_mutex(sqlite3_db_mutex(db)) {
        sqlite3_mutex_enter(m_mutex);
    }
    ~ConnectionLock() { sqlite3_mutex_leave(m_mutex); }
    ConnectionLock(const ConnectionLock&) = delete;
    ConnectionLock& operator=(const ConnectionLock&) = delete;

private:
    sqlite3_mutex* m_mutex;
};

void exec(sqlite3* db, const std::string& path, const char* sql, const std::string& what) {
    if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
        throwSqlite(db, path, what);
    }
}

/// A transaction that rolls back unless committed. Write transactions take the write lock up
/// front (BEGIN IMMEDIATE) so a concurrent writer makes us wait on the busy timeout at BEGIN
/// instead of failing half-way with a lock upgrade deadlock.
class Transaction {
public:
    enum class Kind { Read, Write };
    Transaction(sqlite3* db, const std::string& path, Kind kind, std::string what)
        : m_db(db), m_path(path), m_what(std::move(what)) {
        // A store opened read-only refuses every write up front, in the same words SQLite's
        // refusal would get, before any statement runs.
        if (kind == Kind::Write && sqlite3_db_readonly(m_db, "main") == 1) {
            throw readOnlyError(m_path, m_what);
        }
        if (sqlite3_exec(m_db, kind == Kind::Write ? "BEGIN IMMEDIATE" : "BEGIN", nullptr, nullptr,
                         nullptr) != SQLITE_OK) {
            // Waiting for the lock is where a busy store shows: its message says it all.
            const int primary = sqlite3_extended_errcode(m_db) & 0xff;
            throwSqlite(m_db, m_path,
                        primary == SQLITE_BUSY || primary == SQLITE_LOCKED
                            ? m_what
                            : m_what + ": cannot begin a transaction");
        }
    }
    ~Transaction() {
        // Some errors (disk full, I/O) already rolled back; a second ROLLBACK would only fail.
        if (!m_committed && sqlite3_get_autocommit(m_db) == 0) {
            sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
        }
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit() {
        exec(m_db, m_path, "COMMIT", m_what + ": cannot commit");
        m_committed = true;
    }

private:
    sqlite3* m_db;
    const std::string& m_path;
    std::string m_what;
    bool m_committed = false;
};

/// A prepared statement, reset for reuse by every row of a batch. Column readers check the
/// stored type first: the file may have been written by anything.
class Statement {
public:
    Statement(sqlite3* db, const std::string& path, const char* sql, std::string what)
        : m_db(db), m_path(path), m_what(std::move(what)) {
        if (sqlite3_prepare_v2(m_db, sql, -1, &m_stmt, nullptr) != SQLITE_OK) {
            throwSqlite(m_db, m_path, m_what);
        }
    }
    ~Statement() { sqlite3_finalize(m_stmt); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    void bind(int index, int64_t value) { check(sqlite3_bind_int64(m_stmt, index, value)); }
    void bind(int index, const std::string& value) {
        check(sqlite3_bind_text64(m_stmt, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                  SQLITE_UTF8));
    }
    /// NaN is stored as NULL (SQLite's own behaviour, made explicit).
    void bindDouble(int index, double value) {
        check(std::isnan(value) ? sqlite3_bind_null(m_stmt, index)
                                : sqlite3_bind_double(m_stmt, index, value));
    }
    void bindNull(int index) { check(sqlite3_bind_null(m_stmt, index)); }
    /// A run id, or NULL for a row that belongs to no run (a loose checkpoint's analysis).
    void bindRunOrNull(int index, int64_t runId) {
        if (runId > 0) {
            bind(index, runId);
        } else {
            bindNull(index);
        }
    }
    void bindBlob(int index, const std::vector<unsigned char>& bytes) {
        // A null data pointer would bind NULL, not an empty blob.
        check(bytes.empty() ? sqlite3_bind_zeroblob(m_stmt, index, 0)
                            : sqlite3_bind_blob64(m_stmt, index, bytes.data(), bytes.size(),
                                                  SQLITE_TRANSIENT));
    }

    /// Returns true for a row, false when done; throws on error.
    bool step() {
        const int rc = sqlite3_step(m_stmt);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc == SQLITE_DONE) {
            return false;
        }
        throwSqlite(m_db, m_path, m_what);
    }
    void reset() {
        sqlite3_reset(m_stmt);
        sqlite3_clear_bindings(m_stmt);
    }

    bool isNull(int col) const { return sqlite3_column_type(m_stmt, col) == SQLITE_NULL; }
    int64_t integer(int col) const {
        requireType(col, sqlite3_column_type(m_stmt, col) == SQLITE_INTEGER, "an integer");
        return sqlite3_column_int64(m_stmt, col);
    }
    int smallInteger(int col) const {
        const int64_t value = integer(col);
        if (value < INT_MIN || value > INT_MAX) {
            badRow(col, "is out of range");
        }
        return static_cast<int>(value);
    }
    /// NULL reads back as NaN (see bindDouble).
    double real(int col) const {
        const int type = sqlite3_column_type(m_stmt, col);
        if (type == SQLITE_NULL) {
            return std::numeric_limits<double>::quiet_NaN();
        }
        requireType(col, type == SQLITE_FLOAT || type == SQLITE_INTEGER, "a number");
        return sqlite3_column_double(m_stmt, col);
    }
    std::string text(int col, bool nullable = false) const {
        const int type = sqlite3_column_type(m_stmt, col);
        if (nullable && type == SQLITE_NULL) {
            return {};
        }
        requireType(col, type == SQLITE_TEXT, "text");
        const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(m_stmt, col));
        const int size = sqlite3_column_bytes(m_stmt, col);
        return data == nullptr ? std::string() : std::string(data, static_cast<size_t>(size));
    }
    /// A blob of little-endian IEEE doubles.
    std::vector<double> doubles(int col) const {
        requireType(col, sqlite3_column_type(m_stmt, col) == SQLITE_BLOB, "a blob");
        const auto* data = static_cast<const unsigned char*>(sqlite3_column_blob(m_stmt, col));
        const int size = sqlite3_column_bytes(m_stmt, col);
        if (size % 8 != 0) {
            badRow(col, "is a blob of " + std::to_string(size) +
                            " bytes, not a whole number of doubles");
        }
        std::vector<double> values(static_cast<size_t>(size / 8));
        for (size_t i = 0; i < values.size(); ++i) {
            uint64_t bits = 0;
            for (int b = 7; b >= 0; --b) {
                bits = (bits << 8) | data[i * 8 + static_cast<size_t>(b)];
            }
            std::memcpy(&values[i], &bits, sizeof bits);
        }
        return values;
    }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) {
            throwSqlite(m_db, m_path, m_what);
        }
    }
    void requireType(int col, bool ok, const char* expected) const {
        if (!ok) {
            badRow(col, std::string("is not ") + expected);
        }
    }
    [[noreturn]] void badRow(int col, const std::string& problem) const {
        const char* name = sqlite3_column_name(m_stmt, col);
        throw StoreError(m_path + ": " + m_what + ": bad row: column " +
                         (name != nullptr ? name : "?") + " " + problem);
    }

    sqlite3* m_db;
    const std::string& m_path;
    std::string m_what;
    sqlite3_stmt* m_stmt = nullptr;
};

std::vector<unsigned char> encodeDoubles(const std::vector<double>& values) {
    std::vector<unsigned char> bytes(values.size() * 8);
    for (size_t i = 0; i < values.size(); ++i) {
        uint64_t bits = 0;
        std::memcpy(&bits, &values[i], sizeof bits);
        for (size_t b = 0; b < 8; ++b) {
            bytes[i * 8 + b] = static_cast<unsigned char>(bits >> (8 * b));
        }
    }
    return bytes;
}

std::string nowUtc() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

std::string hostName() {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof buffer - 1) != 0) {
        return {};
    }
    return buffer;
}

/// True when no process with this pid exists on this host. A pid we may not signal (EPERM)
/// belongs to a live process of another user.
bool processGone(int64_t pid) {
    if (pid <= 0 || pid > std::numeric_limits<pid_t>::max()) {
        return true;
    }
    return kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

bool isKnownStatus(const std::string& s) {
    for (const char* known : {status::kQueued, status::kRunning, status::kPaused, status::kFinished,
                              status::kFailed, status::kCancelled, status::kInterrupted}) {
        if (s == known) {
            return true;
        }
    }
    return false;
}

bool isTerminalStatus(const std::string& s) {
    return s == status::kFinished || s == status::kFailed || s == status::kCancelled;
}

int readPragmaInt(sqlite3* db, const std::string& path, const char* sql, const std::string& what) {
    Statement stmt(db, path, sql, what);
    if (!stmt.step()) {
        throw StoreError(path + ": " + what + ": no result");
    }
    return stmt.smallInteger(0);
}

// Refused rather than opened: an older build would misread or damage tables it does not know.
StoreError newerSchemaError(const std::string& path, int version) {
    return StoreError(path + ": schema version " + std::to_string(version) +
                      " is newer than this build of Quantscape supports (" +
                      std::to_string(kSchemaVersion) + "); open it with a newer version");
}

void migrate(sqlite3* db, const std::string& path) {
    const std::string what = "cannot upgrade the schema";
    Transaction tx(db, path, Transaction::Kind::Write, what);
    // Re-read under the write lock: another process may have migrated since we first looked.
    const int version = readPragmaInt(db, path, "PRAGMA user_version", what);
    if (version > kSchemaVersion) {
        throw newerSchemaError(path, version);
    }
    if (version == kSchemaVersion) {
        return;
    }
    for (const Migration& migration : kMigrations) {
        if (migration.version > version) {
            exec(db, path, migration.sql,
                 what + " to version " + std::to_string(migration.version));
        }
    }
    const std::string setVersion = "PRAGMA user_version = " + std::to_string(kSchemaVersion) +
                                   "; PRAGMA application_id = " + std::to_string(kApplicationId);
    exec(db, path, setVersion.c_str(), what);
    tx.commit();
}

/// Marks running/paused runs of this host whose process is gone as interrupted. Runs of other
/// hosts are left alone: their pids mean nothing here.
void markInterruptedRuns(sqlite3* db, const std::string& path) {
    const std::string what = "cannot mark interrupted runs";
    const std::string host = hostName();
    std::vector<std::pair<int64_t, int64_t>> gone;  // (id, pid)
    {
        Statement select(db, path,
                         "SELECT id, pid FROM runs WHERE status IN (?1, ?2) AND host = ?3", what);
        select.bind(1, std::string(status::kRunning));
        select.bind(2, std::string(status::kPaused));
        select.bind(3, host);
        while (select.step()) {
            const int64_t pid = select.integer(1);
            if (processGone(pid)) {
                gone.emplace_back(select.integer(0), pid);
            }
        }
    }
    if (gone.empty()) {
        return;  // the common case takes no write lock
    }
    Transaction tx(db, path, Transaction::Kind::Write, what);
    // The WHERE repeats the owner: a process that resumed the run since the SELECT keeps it.
    Statement update(db, path,
                     "UPDATE runs SET status = ?1, updated_at = ?2 WHERE id = ?3 AND pid = ?4 "
                     "AND host = ?5 AND status IN (?6, ?7)",
                     what);
    const std::string now = nowUtc();
    for (const auto& [id, pid] : gone) {
        update.bind(1, std::string(status::kInterrupted));
        update.bind(2, now);
        update.bind(3, id);
        update.bind(4, pid);
        update.bind(5, host);
        update.bind(6, std::string(status::kRunning));
        update.bind(7, std::string(status::kPaused));
        update.step();
        update.reset();
    }
    tx.commit();
}

void enableWal(sqlite3* db, const std::string& path, int busyTimeoutMs) {
    // Switching a file to WAL takes an exclusive lock, and SQLite answers BUSY at once instead of
    // calling the busy handler when other processes are opening the same new file at that moment:
    // retry within the busy timeout ourselves.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(busyTimeoutMs);
    for (;;) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt, nullptr);
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(stmt);
        }
        // Taken before finalize, which would reset the connection's error.
        const StoreError error = sqliteError(db, path, "cannot set the journal mode");
        sqlite3_finalize(stmt);
        if (rc == SQLITE_ROW) {
            return;
        }
        const int primary = rc & 0xff;
        if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
            std::chrono::steady_clock::now() >= deadline) {
            throw error;
        }
        sqlite3_sleep(5);
    }
}

/// Reads the header and returns the schema version; refuses newer schemas and other
/// applications' databases.
int readHeader(sqlite3* db, const std::string& path) {
    // The first read parses the header: this is where a non-SQLite, truncated or locked file
    // is found. One snapshot, so a process migrating a new file meanwhile cannot make it look
    // like version 0 with tables (a foreign database).
    int version = 0;
    {
        const std::string what = "cannot read the database header";
        Transaction tx(db, path, Transaction::Kind::Read, what);
        version = readPragmaInt(db, path, "PRAGMA user_version", what);
        if (version > kSchemaVersion) {
            throw newerSchemaError(path, version);
        }
        const int applicationId = readPragmaInt(db, path, "PRAGMA application_id", what);
        const int objects = readPragmaInt(db, path, "SELECT count(*) FROM sqlite_master",
                                          "cannot read the database schema");
        if ((applicationId != 0 && applicationId != kApplicationId) ||
            (version == 0 && objects != 0)) {
            throw StoreError(path + ": is an SQLite database but not a Quantscape run store");
        }
        tx.commit();
    }
    return version;
}

void initialize(sqlite3* db, const std::string& path, const RunStoreOptions& options) {
    const int version = readHeader(db, path);

    // WAL: readers (the GUI) never block the recorder, and a killed writer loses only its
    // uncommitted transaction. Some file systems cannot do WAL; the rollback journal that
    // remains is just as safe, only slower, so that is not an error.
    enableWal(db, path, options.busyTimeoutMs);
    // NORMAL is durable against a killed process in WAL mode; only a power cut may lose the
    // last commits.
    exec(db, path, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL",
         "cannot configure the connection");

    if (version < kSchemaVersion) {
        migrate(db, path);
    }
    // Best effort: a store another process is writing must still open (a window browsing it),
    // so a lock held past a short wait leaves the marking to a later open.
    sqlite3_busy_timeout(db, std::min(options.busyTimeoutMs, kMarkingTimeoutMs));
    try {
        markInterruptedRuns(db, path);
    } catch (const StoreError& e) {
        if (e.kind() != StoreError::Kind::Busy) {
            throw;
        }
    }
    sqlite3_busy_timeout(db, options.busyTimeoutMs);
    if (options.maxPageCount > 0) {
        // After the migrations, which need their pages. SQLite never caps below the current size.
        const std::string sql = "PRAGMA max_page_count = " + std::to_string(options.maxPageCount);
        exec(db, path, sql.c_str(), "cannot set the page limit");
    }
}

/// For a store opened read-only: only what reading needs. Nothing is written, so nothing is
/// migrated and no run is marked interrupted; a store that would need either is refused.
void initializeReadOnly(sqlite3* db, const std::string& path) {
    const int version = readHeader(db, path);
    if (version == 0) {
        throw readOnlyError(path, "cannot create the run store");
    }
    if (version < kSchemaVersion) {
        throw readOnlyError(path, "cannot upgrade its schema version " + std::to_string(version) +
                                      " to this build's " + std::to_string(kSchemaVersion) +
                                      ", which it needs to read it");
    }
    exec(db, path, "PRAGMA foreign_keys = ON", "cannot configure the connection");
}

/// 0 when this process may create and write files in `path`'s folder (SQLite puts the WAL, its
/// index (-shm) and rollback journals there), else the errno saying why not. A read-only mount
/// fails this for root too (EROFS).
int folderWriteError(const std::string& path) {
    std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (folder.empty()) {
        folder = ".";
    }
    return faccessat(AT_FDCWD, folder.c_str(), W_OK, AT_EACCESS) == 0 ? 0 : errno;
}

/// A file: URI that opens `path` as immutable (no locks, no WAL index), for a store nobody is
/// writing (a writer would have made the index): the only way SQLite reads a WAL store in a
/// folder where it cannot create the index file. A WAL left by a writer killed before the
/// folder became read-only is not read.
std::string immutableUri(const std::string& path) {
    std::error_code ec;
    const std::string absolute = std::filesystem::absolute(path, ec).string();
    std::string uri = "file:";
    for (const unsigned char c : ec ? path : absolute) {
        if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
            uri += static_cast<char>(c);
        } else {
            static const char* hex = "0123456789ABCDEF";
            uri += '%';
            uri += hex[c >> 4];
            uri += hex[c & 15];
        }
    }
    return uri + "?immutable=1";
}

/// False when a read-only connection cannot read the store because SQLite cannot create a WAL
/// store's index file (-shm) here; any other failure is left for the header read to report.
bool readableHere(sqlite3* db) {
    const int rc =
        sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
    const int code = sqlite3_extended_errcode(db);
    return rc == SQLITE_OK ||
           !((code & 0xff) == SQLITE_CANTOPEN || code == SQLITE_READONLY_DIRECTORY ||
             code == SQLITE_READONLY_CANTINIT || code == SQLITE_READONLY_CANTLOCK ||
             code == SQLITE_READONLY_RECOVERY);
}

sqlite3* openConnection(const std::string& path, const std::string& name, int flags,
                        int busyTimeoutMs) {
    sqlite3* db = nullptr;
    // FULLMUTEX gives the connection a mutex that ConnectionLock uses to serialize public calls.
    const int rc = sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        if (db == nullptr) {
            throw StoreError(path + ": cannot open: " + sqlite3_errstr(rc));
        }
        sqlite3_extended_result_codes(db, 1);
        const StoreError error = sqliteError(db, path, "cannot open");
        sqlite3_close_v2(db);
        throw error;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, busyTimeoutMs);
    return db;
}

constexpr const char* kRunColumns =
    "id, name, status, spec_json, created_at, updated_at, finished_at, host, pid, versions, "
    "checkpoint_dir, error";

RunRecord readRun(const Statement& stmt) {
    RunRecord run;
    run.id = stmt.integer(0);
    run.name = stmt.text(1);
    run.status = stmt.text(2);
    run.specJson = stmt.text(3);
    run.createdAt = stmt.text(4);
    run.updatedAt = stmt.text(5);
    run.finishedAt = stmt.text(6, /*nullable=*/true);
    run.host = stmt.text(7);
    run.pid = stmt.integer(8);
    run.versions = stmt.text(9);
    run.checkpointDir = stmt.text(10);
    run.error = stmt.text(11);
    return run;
}

/// After an UPDATE or DELETE by run id: zero changed rows means the id names no run.
void requireOneRunChanged(sqlite3* db, const std::string& path, const std::string& what) {
    if (sqlite3_changes(db) != 1) {
        throw StoreError(path + ": " + what + ": no such run");
    }
}

}  // namespace

RunStore::RunStore(std::string path) : m_path(std::move(path)) {}

RunStore::~RunStore() {
    // Closing the last connection checkpoints the WAL into the main file and removes it.
    sqlite3_close_v2(m_db);
}

std::unique_ptr<RunStore> RunStore::open(const std::string& path, const RunStoreOptions& options) {
    if (path.empty()) {
        throw StoreError("run store: empty database path");
    }
    std::unique_ptr<RunStore> store(new RunStore(path));
    const auto present = [&](const char* suffix) {
        struct stat info {};
        return ::stat((path + suffix).c_str(), &info) == 0;
    };
    const auto writableFile = [&](const char* suffix) {
        return !present(suffix) ||
               faccessat(AT_FDCWD, (path + suffix).c_str(), W_OK, AT_EACCESS) == 0;
    };
    const bool exists = present("");
    // Decided here rather than left to SQLite: it would open an unwritable file read-only
    // without a word, and fail every read of a WAL store in an unwritable folder. The WAL and
    // its index count too: SQLite writes through them.
    const int folderError = folderWriteError(path);
    bool writable =
        folderError == 0 && writableFile("") && writableFile("-wal") && writableFile("-shm");
    if (!exists && (folderError == EACCES || folderError == EPERM || folderError == EROFS)) {
        throw readOnlyError(path, "cannot create the run store");
    }
    std::string name = path;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;  // a missing folder: SQLite says so
    if (exists && !writable) {
        flags = SQLITE_OPEN_READONLY;
        // No WAL and no index: nobody is writing the store. A read-only connection would create
        // both (with the file's read-only mode, which would keep the store read-only after the
        // file is made writable again); immutable reads it and leaves nothing behind.
        if (!present("-wal") && !present("-shm")) {
            name = immutableUri(path);
            flags |= SQLITE_OPEN_URI;
        }
    }
    store->m_db = openConnection(path, name, flags, options.busyTimeoutMs);
    // SQLite falls back to read-only by itself where the check above saw no reason to.
    writable = writable && sqlite3_db_readonly(store->m_db, "main") == 0;
    store->m_readOnly = !writable;
    if (!writable && !readableHere(store->m_db)) {
        sqlite3_close_v2(store->m_db);
        store->m_db = nullptr;
        store->m_db = openConnection(path, immutableUri(path),
                                     SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, options.busyTimeoutMs);
    }
    ConnectionLock lock(store->m_db);
    if (writable) {
        initialize(store->m_db, path, options);
    } else {
        initializeReadOnly(store->m_db, path);
    }
    return store;
}

int RunStore::currentSchemaVersion() {
    return kSchemaVersion;
}

int RunStore::schemaVersion() const {
    ConnectionLock lock(m_db);
    return readPragmaInt(m_db, m_path, "PRAGMA user_version", "cannot read the schema version");
}

int64_t RunStore::createRun(const std::string& name, const std::string& specJson,
                            const std::string& versionsJson) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot create run '" + name + "'";
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(m_db, m_path,
                     "INSERT INTO runs (name, status, spec_json, created_at, updated_at, host, "
                     "pid, versions) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7)",
                     what);
    insert.bind(1, name);
    insert.bind(2, std::string(status::kRunning));
    insert.bind(3, specJson);
    insert.bind(4, nowUtc());
    insert.bind(5, hostName());
    insert.bind(6, static_cast<int64_t>(getpid()));
    insert.bind(7, versionsJson);
    insert.step();
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    tx.commit();
    return id;
}

void RunStore::setStatus(int64_t runId, const std::string& newStatus, const std::string& error) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot set the status of run " + std::to_string(runId);
    if (!isKnownStatus(newStatus)) {
        throw StoreError(m_path + ": " + what + ": unknown status '" + newStatus + "'");
    }
    const bool terminal = isTerminalStatus(newStatus);
    const bool running = newStatus == status::kRunning;
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    // The error is stored as given, so a failed run that is resumed loses its stale error.
    Statement update(m_db, m_path,
                     "UPDATE runs SET status = ?1, updated_at = ?2, error = ?3, "
                     "finished_at = CASE WHEN ?4 THEN ?2 WHEN ?5 THEN NULL ELSE finished_at END, "
                     "pid = CASE WHEN ?5 THEN ?6 ELSE pid END, "
                     "host = CASE WHEN ?5 THEN ?7 ELSE host END "
                     "WHERE id = ?8",
                     what);
    update.bind(1, newStatus);
    update.bind(2, nowUtc());
    update.bind(3, error);
    update.bind(4, int64_t{terminal});
    update.bind(5, int64_t{running});
    update.bind(6, static_cast<int64_t>(getpid()));
    update.bind(7, hostName());
    update.bind(8, runId);
    update.step();
    requireOneRunChanged(m_db, m_path, what);
    tx.commit();
}

void RunStore::setCheckpointDir(int64_t runId, const std::string& dir) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot set the checkpoint folder of run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement update(m_db, m_path,
                     "UPDATE runs SET checkpoint_dir = ?1, updated_at = ?2 WHERE id = ?3", what);
    update.bind(1, dir);
    update.bind(2, nowUtc());
    update.bind(3, runId);
    update.step();
    requireOneRunChanged(m_db, m_path, what);
    tx.commit();
}

void RunStore::setFinalMetrics(int64_t runId, const std::map<std::string, double>& metrics) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot set the final metrics of run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    {
        Statement touch(m_db, m_path, "UPDATE runs SET updated_at = ?1 WHERE id = ?2", what);
        touch.bind(1, nowUtc());
        touch.bind(2, runId);
        touch.step();
        requireOneRunChanged(m_db, m_path, what);
    }
    {
        Statement clear(m_db, m_path, "DELETE FROM final_metrics WHERE run_id = ?1", what);
        clear.bind(1, runId);
        clear.step();
    }
    Statement insert(m_db, m_path,
                     "INSERT INTO final_metrics (run_id, key, value) VALUES (?1, ?2, ?3)", what);
    for (const auto& [key, value] : metrics) {
        insert.bind(1, runId);
        insert.bind(2, key);
        insert.bindDouble(3, value);
        insert.step();
        insert.reset();
    }
    tx.commit();
}

void RunStore::renameRun(int64_t runId, const std::string& name) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot rename run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement update(m_db, m_path, "UPDATE runs SET name = ?1, updated_at = ?2 WHERE id = ?3",
                     what);
    update.bind(1, name);
    update.bind(2, nowUtc());
    update.bind(3, runId);
    update.step();
    requireOneRunChanged(m_db, m_path, what);
    tx.commit();
}

void RunStore::deleteRun(int64_t runId) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot delete run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement remove(m_db, m_path, "DELETE FROM runs WHERE id = ?1", what);
    remove.bind(1, runId);
    remove.step();
    // sqlite3_changes counts the run only, not the rows removed by the cascade.
    requireOneRunChanged(m_db, m_path, what);
    tx.commit();
}

void RunStore::truncateAfter(int64_t runId, int64_t step) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot truncate run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    for (const char* sql : {"DELETE FROM metrics WHERE run_id = ?1 AND step > ?2",
                            "DELETE FROM layer_states WHERE run_id = ?1 AND step > ?2"}) {
        Statement remove(m_db, m_path, sql, what);
        remove.bind(1, runId);
        remove.bind(2, step);
        remove.step();
    }
    tx.commit();
}

void RunStore::appendMetrics(int64_t runId, const std::vector<MetricRow>& rows) {
    if (rows.empty()) {
        return;
    }
    ConnectionLock lock(m_db);
    const std::string what = "cannot append metrics to run " + std::to_string(runId);
    for (const MetricRow& row : rows) {
        // An empty key could never be read back on its own: metrics(run, "") means every key.
        if (row.key.empty()) {
            throw StoreError(m_path + ": " + what + ": empty metric key at step " +
                             std::to_string(row.step));
        }
    }
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(m_db, m_path,
                     "INSERT INTO metrics (run_id, step, key, value) VALUES (?1, ?2, ?3, ?4) "
                     "ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value",
                     what);
    for (const MetricRow& row : rows) {
        insert.bind(1, runId);
        insert.bind(2, row.step);
        insert.bind(3, row.key);
        insert.bindDouble(4, row.value);
        insert.step();
        insert.reset();
    }
    tx.commit();
}

void RunStore::appendLayerStates(int64_t runId, const std::vector<LayerStateRow>& rows) {
    if (rows.empty()) {
        return;
    }
    ConnectionLock lock(m_db);
    const std::string what = "cannot append layer states to run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(
        m_db, m_path,
        "INSERT INTO layer_states (run_id, step, layer, weight_bits, act_bits, weight_steps, "
        "act_step, weight_error, act_error, weight_clip, act_clip) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT (run_id, step, layer) DO UPDATE SET weight_bits = excluded.weight_bits, "
        "act_bits = excluded.act_bits, weight_steps = excluded.weight_steps, "
        "act_step = excluded.act_step, weight_error = excluded.weight_error, "
        "act_error = excluded.act_error, weight_clip = excluded.weight_clip, "
        "act_clip = excluded.act_clip",
        what);
    for (const LayerStateRow& row : rows) {
        insert.bind(1, runId);
        insert.bind(2, row.step);
        insert.bind(3, row.layer);
        insert.bind(4, int64_t{row.weightBits});
        insert.bind(5, int64_t{row.actBits});
        insert.bindBlob(6, encodeDoubles(row.weightSteps));
        insert.bindDouble(7, row.actStep);
        insert.bindDouble(8, row.weightError);
        insert.bindDouble(9, row.actError);
        insert.bindDouble(10, row.weightClipRate);
        insert.bindDouble(11, row.actClipRate);
        insert.step();
        insert.reset();
    }
    tx.commit();
}

std::vector<RunRecord> RunStore::listRuns() const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot list runs";
    // One snapshot for both queries, so a concurrent delete cannot split a run from its metrics.
    Transaction tx(m_db, m_path, Transaction::Kind::Read, what);
    std::vector<RunRecord> runs;
    std::map<int64_t, size_t> indexById;
    {
        const std::string sql =
            std::string("SELECT ") + kRunColumns + " FROM runs ORDER BY created_at DESC, id DESC";
        Statement select(m_db, m_path, sql.c_str(), what);
        while (select.step()) {
            runs.push_back(readRun(select));
            indexById[runs.back().id] = runs.size() - 1;
        }
    }
    Statement finals(m_db, m_path, "SELECT run_id, key, value FROM final_metrics", what);
    while (finals.step()) {
        const auto it = indexById.find(finals.integer(0));
        if (it != indexById.end()) {
            runs[it->second].finalMetrics[finals.text(1)] = finals.real(2);
        }
    }
    tx.commit();
    return runs;
}

std::optional<RunRecord> RunStore::run(int64_t runId) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read run " + std::to_string(runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Read, what);
    RunRecord run;
    {
        const std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?1";
        Statement select(m_db, m_path, sql.c_str(), what);
        select.bind(1, runId);
        if (!select.step()) {
            return std::nullopt;
        }
        run = readRun(select);
    }
    Statement finals(m_db, m_path, "SELECT key, value FROM final_metrics WHERE run_id = ?1", what);
    finals.bind(1, runId);
    while (finals.step()) {
        run.finalMetrics[finals.text(0)] = finals.real(1);
    }
    tx.commit();
    return run;
}

std::vector<MetricRow> RunStore::metrics(int64_t runId, const std::string& key) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read the metrics of run " + std::to_string(runId);
    Statement select(m_db, m_path,
                     key.empty() ? "SELECT step, key, value FROM metrics WHERE run_id = ?1 "
                                   "ORDER BY step, key"
                                 : "SELECT step, key, value FROM metrics WHERE run_id = ?1 "
                                   "AND key = ?2 ORDER BY step",
                     what);
    select.bind(1, runId);
    if (!key.empty()) {
        select.bind(2, key);
    }
    std::vector<MetricRow> rows;
    while (select.step()) {
        rows.push_back({select.integer(0), select.text(1), select.real(2)});
    }
    return rows;
}

int64_t RunStore::addSharpness(const SharpnessRow& row) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot record a sharpness measure";
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(
        m_db, m_path,
        "INSERT INTO sharpness (run_id, checkpoint, step, measure, mode, radius, value, "
        "base_loss, perturbed_loss, ascent_steps, samples, seed, created_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        what);
    insert.bindRunOrNull(1, row.runId);
    insert.bind(2, row.checkpoint);
    insert.bind(3, row.step);
    insert.bind(4, row.measure);
    insert.bind(5, row.mode);
    insert.bindDouble(6, row.radius);
    insert.bindDouble(7, row.value);
    insert.bindDouble(8, row.baseLoss);
    insert.bindDouble(9, row.perturbedLoss);
    insert.bind(10, int64_t(row.ascentSteps));
    insert.bind(11, row.samples);
    insert.bind(12, int64_t(row.seed));
    insert.bind(13, nowUtc());
    insert.step();
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    tx.commit();
    return id;
}

int64_t RunStore::addArtifact(const ArtifactRow& row) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot record an artifact of run " + std::to_string(row.runId);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(m_db, m_path,
                     "INSERT INTO artifacts (run_id, kind, path, sha256, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5)",
                     what);
    insert.bind(1, row.runId);
    insert.bind(2, row.kind);
    insert.bind(3, row.path);
    insert.bind(4, row.sha256);
    insert.bind(5, nowUtc());
    insert.step();
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    tx.commit();
    return id;
}

std::vector<ArtifactRow> RunStore::artifacts(int64_t runId) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read the artifacts of run " + std::to_string(runId);
    Statement select(m_db, m_path,
                     "SELECT id, run_id, kind, path, sha256, created_at FROM artifacts "
                     "WHERE run_id = ?1 ORDER BY id",
                     what);
    select.bind(1, runId);
    std::vector<ArtifactRow> rows;
    while (select.step()) {
        ArtifactRow row;
        row.id = select.integer(0);
        row.runId = select.integer(1);
        row.kind = select.text(2);
        row.path = select.text(3);
        row.sha256 = select.text(4);
        row.createdAt = select.text(5);
        rows.push_back(std::move(row));
    }
    return rows;
}

std::vector<SharpnessRow> RunStore::sharpness(int64_t runId) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read the sharpness measures of run " + std::to_string(runId);
    Statement select(
        m_db, m_path,
        "SELECT id, run_id, checkpoint, step, measure, mode, radius, value, base_loss, "
        "perturbed_loss, ascent_steps, samples, seed, created_at FROM sharpness "
        "WHERE run_id = ?1 ORDER BY id",
        what);
    select.bind(1, runId);
    std::vector<SharpnessRow> rows;
    while (select.step()) {
        SharpnessRow row;
        row.id = select.integer(0);
        row.runId = select.integer(1);
        row.checkpoint = select.text(2);
        row.step = select.integer(3);
        row.measure = select.text(4);
        row.mode = select.text(5);
        row.radius = select.real(6);
        row.value = select.real(7);
        row.baseLoss = select.real(8);
        row.perturbedLoss = select.real(9);
        row.ascentSteps = int(select.integer(10));
        row.samples = select.integer(11);
        row.seed = uint64_t(select.integer(12));
        row.createdAt = select.text(13);
        rows.push_back(std::move(row));
    }
    return rows;
}

namespace {

constexpr const char* kLandscapeColumns =
    "id, run_id, checkpoint, step, kind, mode, nx, ny, x_min, x_max, y_min, y_max, "
    "directions_seed, samples, options_json, status, loss_values, acc_values, created_at, "
    "updated_at";

/// Refuses values that do not fill the grid: a reader could not place them.
void checkLandscapeValues(const std::string& path, const std::string& what, int64_t nx, int64_t ny,
                          const std::vector<double>& loss, const std::vector<double>& accuracy) {
    if (nx < 1 || ny < 1) {
        throw StoreError(path + ": " + what + ": the grid must have nx, ny >= 1 (got " +
                         std::to_string(nx) + " x " + std::to_string(ny) + ")");
    }
    const auto expected = static_cast<size_t>(nx * ny);
    if (loss.size() != expected || accuracy.size() != expected) {
        throw StoreError(path + ": " + what + ": " + std::to_string(loss.size()) + " losses and " +
                         std::to_string(accuracy.size()) + " accuracies for a " +
                         std::to_string(nx) + " x " + std::to_string(ny) + " grid");
    }
}

LandscapeRow readLandscape(const Statement& stmt, const std::string& path,
                           const std::string& what) {
    LandscapeRow row;
    row.id = stmt.integer(0);
    row.runId = stmt.isNull(1) ? 0 : stmt.integer(1);
    row.checkpoint = stmt.text(2);
    row.step = stmt.integer(3);
    row.kind = stmt.text(4);
    row.mode = stmt.text(5);
    row.nx = stmt.smallInteger(6);
    row.ny = stmt.smallInteger(7);
    row.xMin = stmt.real(8);
    row.xMax = stmt.real(9);
    row.yMin = stmt.real(10);
    row.yMax = stmt.real(11);
    row.seed = uint64_t(stmt.integer(12));
    row.samples = stmt.integer(13);
    row.optionsJson = stmt.text(14);
    row.status = stmt.text(15);
    row.loss = stmt.doubles(16);
    row.accuracy = stmt.doubles(17);
    row.createdAt = stmt.text(18);
    row.updatedAt = stmt.text(19);
    checkLandscapeValues(path, what + ": bad row " + std::to_string(row.id), row.nx, row.ny,
                         row.loss, row.accuracy);
    return row;
}

}  // namespace

int64_t RunStore::addLandscape(const LandscapeRow& row) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot record a landscape";
    checkLandscapeValues(m_path, what, row.nx, row.ny, row.loss, row.accuracy);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    Statement insert(
        m_db, m_path,
        "INSERT INTO landscapes (run_id, checkpoint, step, kind, mode, nx, ny, x_min, x_max, "
        "y_min, y_max, directions_seed, samples, options_json, status, loss_values, acc_values, "
        "created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
        "?18, ?18)",
        what);
    insert.bindRunOrNull(1, row.runId);
    insert.bind(2, row.checkpoint);
    insert.bind(3, row.step);
    insert.bind(4, row.kind);
    insert.bind(5, row.mode);
    insert.bind(6, int64_t(row.nx));
    insert.bind(7, int64_t(row.ny));
    insert.bindDouble(8, row.xMin);
    insert.bindDouble(9, row.xMax);
    insert.bindDouble(10, row.yMin);
    insert.bindDouble(11, row.yMax);
    insert.bind(12, int64_t(row.seed));
    insert.bind(13, row.samples);
    insert.bind(14, row.optionsJson);
    insert.bind(15, row.status);
    insert.bindBlob(16, encodeDoubles(row.loss));
    insert.bindBlob(17, encodeDoubles(row.accuracy));
    insert.bind(18, nowUtc());
    insert.step();
    const int64_t id = sqlite3_last_insert_rowid(m_db);
    tx.commit();
    return id;
}

void RunStore::updateLandscape(int64_t id, const std::string& newStatus,
                               const std::vector<double>& loss,
                               const std::vector<double>& accuracy) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot update landscape " + std::to_string(id);
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    {
        Statement grid(m_db, m_path, "SELECT nx, ny FROM landscapes WHERE id = ?1", what);
        grid.bind(1, id);
        if (!grid.step()) {
            throw StoreError(m_path + ": " + what + ": no such landscape");
        }
        checkLandscapeValues(m_path, what, grid.integer(0), grid.integer(1), loss, accuracy);
    }
    Statement update(m_db, m_path,
                     "UPDATE landscapes SET status = ?1, loss_values = ?2, acc_values = ?3, "
                     "updated_at = ?4 WHERE id = ?5",
                     what);
    update.bind(1, newStatus);
    update.bindBlob(2, encodeDoubles(loss));
    update.bindBlob(3, encodeDoubles(accuracy));
    update.bind(4, nowUtc());
    update.bind(5, id);
    update.step();
    tx.commit();
}

std::optional<LandscapeRow> RunStore::landscape(int64_t id) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read landscape " + std::to_string(id);
    const std::string sql =
        std::string("SELECT ") + kLandscapeColumns + " FROM landscapes WHERE id = ?1";
    Statement select(m_db, m_path, sql.c_str(), what);
    select.bind(1, id);
    if (!select.step()) {
        return std::nullopt;
    }
    return readLandscape(select, m_path, what);
}

std::vector<LandscapeRow> RunStore::landscapes(int64_t runId) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read the landscapes of run " + std::to_string(runId);
    const std::string sql = std::string("SELECT ") + kLandscapeColumns +
                            " FROM landscapes WHERE ?1 <= 0 OR run_id = ?1 ORDER BY id";
    Statement select(m_db, m_path, sql.c_str(), what);
    select.bind(1, runId);
    std::vector<LandscapeRow> rows;
    while (select.step()) {
        rows.push_back(readLandscape(select, m_path, what));
    }
    return rows;
}

std::vector<LayerStateRow> RunStore::layerStates(int64_t runId, int64_t step) const {
    ConnectionLock lock(m_db);
    const std::string what = "cannot read the layer states of run " + std::to_string(runId);
    Statement select(m_db, m_path,
                     "SELECT step, layer, weight_bits, act_bits, weight_steps, act_step, "
                     "weight_error, act_error, weight_clip, act_clip FROM layer_states "
                     "WHERE run_id = ?1 AND (?2 < 0 OR step = ?2) ORDER BY step, layer",
                     what);
    select.bind(1, runId);
    select.bind(2, step);
    std::vector<LayerStateRow> rows;
    while (select.step()) {
        LayerStateRow row;
        row.step = select.integer(0);
        row.layer = select.text(1);
        row.weightBits = select.smallInteger(2);
        row.actBits = select.smallInteger(3);
        row.weightSteps = select.doubles(4);
        row.actStep = select.real(5);
        row.weightError = select.real(6);
        row.actError = select.real(7);
        row.weightClipRate = select.real(8);
        row.actClipRate = select.real(9);
        rows.push_back(std::move(row));
    }
    return rows;
}

int64_t RunStore::lastLayerStateStep(int64_t runId) const {
    ConnectionLock lock(m_db);
    const std::string what =
        "cannot read the last layer-state step of run " + std::to_string(runId);
    Statement select(m_db, m_path, "SELECT max(step) FROM layer_states WHERE run_id = ?1", what);
    select.bind(1, runId);
    if (!select.step() || select.isNull(0)) {
        return -1;
    }
    return select.integer(0);
}

namespace {

constexpr const char* kHessianColumns =
    "id, run_id, checkpoint, step, mode, samples, seed, trace_samples, eigenvalues_json, trace, "
    "trace_se, created_at";

/// Parses a JSON column written by addHessian; anything else is a bad row naming the file.
nlohmann::json parseJsonColumn(const std::string& path, const std::string& what, const char* column,
                               const std::string& text) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw StoreError(path + ": " + what + ": bad row: column " + column +
                         " is not JSON: " + e.what());
    }
}

HessianRow readHessian(const Statement& stmt, const std::string& path, const std::string& what) {
    HessianRow row;
    row.id = stmt.integer(0);
    row.runId = stmt.isNull(1) ? 0 : stmt.integer(1);
    row.checkpoint = stmt.text(2);
    row.step = stmt.integer(3);
    row.mode = stmt.text(4);
    row.samples = stmt.integer(5);
    row.seed = uint64_t(stmt.integer(6));
    row.traceSamples = stmt.smallInteger(7);
    const nlohmann::json eig = parseJsonColumn(path, what, "eigenvalues_json", stmt.text(8));
    if (!eig.is_array()) {
        throw StoreError(path + ": " + what + ": bad row: eigenvalues_json is not an array");
    }
    for (const auto& v : eig) {
        if (!v.is_number()) {
            throw StoreError(path + ": " + what + ": bad row: eigenvalues_json holds a non-number");
        }
        row.eigenvalues.push_back(v.get<double>());
    }
    row.trace = stmt.real(9);
    row.traceSe = stmt.real(10);
    row.createdAt = stmt.text(11);
    return row;
}

HessianLayerRow readHessianLayer(const Statement& stmt, const std::string& path,
                                 const std::string& what) {
    HessianLayerRow row;
    row.layer = stmt.text(0);
    row.params = stmt.integer(1);
    row.trace = stmt.real(2);
    row.traceSe = stmt.real(3);
    const nlohmann::json j = parseJsonColumn(path, what, "omega_json", stmt.text(4));
    const auto bad = [&](const std::string& problem) {
        return StoreError(path + ": " + what + ": bad row: omega_json of layer " + row.layer + " " +
                          problem);
    };
    if (!j.is_object() || !j.contains("omega") || !j["omega"].is_object() || !j.contains("macs") ||
        !j["macs"].is_number_integer()) {
        throw bad("is not {\"omega\": {bits: value}, \"macs\": integer}");
    }
    row.macs = j["macs"].get<int64_t>();
    for (const auto& [key, value] : j["omega"].items()) {
        int bits = 0;
        try {
            std::size_t used = 0;
            bits = std::stoi(key, &used);
            if (used != key.size()) {
                throw std::invalid_argument(key);
            }
        } catch (const std::logic_error&) {
            throw bad("has a bit-width key that is not a number: '" + key + "'");
        }
        // NaN is written as null by the JSON writer and comes back as NaN.
        if (!value.is_number() && !value.is_null()) {
            throw bad("has a non-number at bits " + key);
        }
        row.omega[bits] =
            value.is_null() ? std::numeric_limits<double>::quiet_NaN() : value.get<double>();
    }
    return row;
}

/// Reports matching `where` (bound by `bind`), oldest first, each with its layers, read in one
/// snapshot.
std::vector<HessianRow> selectHessian(sqlite3* db, const std::string& path, const char* where,
                                      const std::function<void(Statement&)>& bind,
                                      const std::string& what) {
    Transaction tx(db, path, Transaction::Kind::Read, what);
    std::vector<HessianRow> rows;
    {
        const std::string sql = std::string("SELECT ") + kHessianColumns + " FROM hessian WHERE " +
                                where + " ORDER BY id";
        Statement select(db, path, sql.c_str(), what);
        bind(select);
        while (select.step()) {
            rows.push_back(readHessian(select, path, what));
        }
    }
    Statement layers(db, path,
                     "SELECT layer, params, trace, trace_se, omega_json FROM hessian_layers "
                     "WHERE hessian_id = ?1 ORDER BY rowid",
                     what);
    for (HessianRow& row : rows) {
        layers.bind(1, row.id);
        while (layers.step()) {
            row.layers.push_back(readHessianLayer(layers, path, what));
        }
        layers.reset();
    }
    tx.commit();
    return rows;
}

}  // namespace

int64_t RunStore::addHessian(const HessianRow& row) {
    ConnectionLock lock(m_db);
    const std::string what = "cannot record a Hessian report";
    Transaction tx(m_db, m_path, Transaction::Kind::Write, what);
    int64_t id = 0;
    {
        Statement insert(m_db, m_path,
                         "INSERT INTO hessian (run_id, checkpoint, step, mode, samples, seed, "
                         "trace_samples, eigenvalues_json, trace, trace_se, created_at) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                         what);
        insert.bindRunOrNull(1, row.runId);
        insert.bind(2, row.checkpoint);
        insert.bind(3, row.step);
        insert.bind(4, row.mode);
        insert.bind(5, row.samples);
        insert.bind(6, int64_t(row.seed));
        insert.bind(7, int64_t(row.traceSamples));
        insert.bind(8, nlohmann::json(row.eigenvalues).dump());
        insert.bindDouble(9, row.trace);
        insert.bindDouble(10, row.traceSe);
        insert.bind(11, nowUtc());
        insert.step();
        id = sqlite3_last_insert_rowid(m_db);
    }
    Statement insert(m_db, m_path,
                     "INSERT INTO hessian_layers (hessian_id, layer, params, trace, trace_se, "
                     "omega_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     what);
    for (const HessianLayerRow& layer : row.layers) {
        nlohmann::json omega = nlohmann::json::object();
        for (const auto& [bits, value] : layer.omega) {
            omega[std::to_string(bits)] = value;
        }
        insert.bind(1, id);
        insert.bind(2, layer.layer);
        insert.bind(3, layer.params);
        insert.bindDouble(4, layer.trace);
        insert.bindDouble(5, layer.traceSe);
        insert.bind(6, nlohmann::json{{"omega", omega}, {"macs", layer.macs}}.dump());
        insert.step();
        insert.reset();
    }
    tx.commit();
    return id;
}

std::vector<HessianRow> RunStore::hessianReports(int64_t runId) const {
    ConnectionLock lock(m_db);
    return selectHessian(
        m_db, m_path, "run_id = ?1", [&](Statement& s) { s.bind(1, runId); },
        "cannot read the Hessian reports of run " + std::to_string(runId));
}

std::vector<HessianRow> RunStore::hessianReportsForCheckpoint(const std::string& checkpoint) const {
    ConnectionLock lock(m_db);
    return selectHessian(
        m_db, m_path, "checkpoint = ?1", [&](Statement& s) { s.bind(1, checkpoint); },
        "cannot read the Hessian reports of " + checkpoint);
}

std::optional<HessianRow> RunStore::hessianReport(int64_t id) const {
    ConnectionLock lock(m_db);
    std::vector<HessianRow> rows = selectHessian(
        m_db, m_path, "id = ?1", [&](Statement& s) { s.bind(1, id); },
        "cannot read Hessian report " + std::to_string(id));
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::string RunStore::integrityCheck() const {
    ConnectionLock lock(m_db);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(m_db, "PRAGMA integrity_check", -1, &stmt, nullptr);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
    }
    std::string result;
    if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) == SQLITE_TEXT) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        result.assign(text, static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    } else {
        // Damage bad enough to stop the check is itself the answer; a busy or unreadable file
        // is not a verdict on the data and is reported as an error.
        const int primary = rc & 0xff;
        if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
            result = sqlite3_errmsg(m_db);
        } else {
            const StoreError error =
                rc == SQLITE_ROW
                    ? StoreError(m_path + ": cannot check integrity: unexpected result")
                    : sqliteError(m_db, m_path, "cannot check integrity");
            sqlite3_finalize(stmt);
            throw error;
        }
    }
    sqlite3_finalize(stmt);
    return result;
}

}  // namespace qs::store
