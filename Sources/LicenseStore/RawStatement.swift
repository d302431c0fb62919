import Foundation
import GRDB
import GRDBSQLite

/// A cached GRDB statement run through SQLite's C API: the statements an append runs for
/// every entry (the entry and license view inserts, the lookups by (origin, seq)). GRDB's
/// general path builds an array of `DatabaseValue`s per call, copies each blob into `Data`,
/// and asks its observation machinery about every statement; at a few inserts per entry
/// that was a visible part of an append. This store registers no transaction observers,
/// so nothing is skipped that it uses. Only within a write (or read) of the ledger.
struct RawStatement {
    /// GRDB's statement, held so that SQLite's stays alive while this is used (GRDB
    /// finalizes cached statements when it clears its cache).
    private let cached: Statement
    private let statement: OpaquePointer
    private let connection: OpaquePointer?
    private let sql: String

    init(_ db: Database, _ sql: String) throws {
        cached = try db.cachedStatement(sql: sql)
        statement = cached.sqliteStatement
        connection = db.sqliteConnection
        self.sql = sql
    }

    /// SQLite copies what is bound (`SQLITE_TRANSIENT`), so no buffer need outlive a call.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Binds parameters in order, starting at 1.
    struct Binder {
        fileprivate let statement: OpaquePointer
        fileprivate var index: Int32 = 1
        /// The first bind that failed (a blob or text beyond SQLite's length limit).
        fileprivate var failed: Int32 = SQLITE_OK

        private mutating func check(_ code: Int32) {
            if failed == SQLITE_OK, code != SQLITE_OK { failed = code }
            index += 1
        }

        mutating func bind(_ value: Int64) {
            check(sqlite3_bind_int64(statement, index, value))
        }

        mutating func bind(_ text: String) {
            var text = text
            let code = text.withUTF8 { utf8 in
                utf8.withMemoryRebound(to: CChar.self) { chars in
                    guard let start = chars.baseAddress else {
                        // An empty string is text, not NULL: SQLite binds NULL for a null pointer.
                        return sqlite3_bind_text(statement, index, "", 0, RawStatement.transient)
                    }
                    return sqlite3_bind_text(statement, index, start, Int32(chars.count), RawStatement.transient)
                }
            }
            check(code)
        }

        mutating func bind(_ text: String?) {
            if let text { bind(text) } else { check(sqlite3_bind_null(statement, index)) }
        }

        mutating func bind(blob bytes: [UInt8]) {
            let code = bytes.withUnsafeBytes { raw in
                // An empty blob is a blob, not NULL: SQLite binds NULL for a null pointer.
                sqlite3_bind_blob(statement, index, raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(raw.count),
                                  RawStatement.transient)
            }
            check(code)
        }
    }

    /// Runs a statement that returns no rows.
    func execute(_ bind: (inout Binder) -> Void) throws {
        try start(bind)
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    /// Runs a query and reads its first row, if any, with `read` (columns from 0).
    func first<T>(_ bind: (inout Binder) -> Void, _ read: (Columns) throws -> T) throws -> T? {
        try start(bind)
        defer { sqlite3_reset(statement) }
        switch sqlite3_step(statement) {
        case SQLITE_ROW: return try read(Columns(statement: statement))
        case SQLITE_DONE: return nil
        case let code: throw failure(code)
        }
    }

    /// Whether a query of one integer column (an `EXISTS`) answers non-zero.
    func exists(_ bind: (inout Binder) -> Void) throws -> Bool {
        try first(bind) { $0.int64(0) != 0 } ?? false
    }

    /// Runs a query and hands each row to `body` until it returns false; true when every
    /// row was read.
    func forEach(_ bind: (inout Binder) -> Void, _ body: (Columns) throws -> Bool) throws -> Bool {
        try start(bind)
        defer { sqlite3_reset(statement) }
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: guard try body(Columns(statement: statement)) else { return false }
            case SQLITE_DONE: return true
            case let code: throw failure(code)
            }
        }
    }

    /// Runs a query and reads every row with `read`.
    func all<T>(_ bind: (inout Binder) -> Void, _ read: (Columns) throws -> T) throws -> [T] {
        try start(bind)
        defer { sqlite3_reset(statement) }
        var rows: [T] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows.append(try read(Columns(statement: statement)))
            case SQLITE_DONE: return rows
            case let code: throw failure(code)
            }
        }
    }

    /// The current row's columns, valid only within `first`'s or `all`'s `read`.
    struct Columns: ColumnReader {
        fileprivate let statement: OpaquePointer

        func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

        func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

        func text(_ column: Int32) -> String? {
            guard sqlite3_column_type(statement, column) != SQLITE_NULL, let start = sqlite3_column_text(statement, column)
            else { return nil }
            return String(decoding: UnsafeBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, column))),
                          as: UTF8.self)
        }

        /// Whether the blob in `column` holds exactly `bytes`, read in place.
        func blob(_ column: Int32, equals bytes: [UInt8]) -> Bool {
            withBlob(column) { stored in
                stored.count == bytes.count
                    && (stored.isEmpty || bytes.withUnsafeBytes { memcmp(stored.baseAddress!, $0.baseAddress!, stored.count) == 0 })
            }
        }

        /// The blob in `column`, read in place; empty for NULL or no bytes. The pointer is
        /// asked for before the length, the order SQLite documents as safe.
        func withBlob<T>(_ column: Int32, _ read: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
            let start = sqlite3_column_blob(statement, column)?.assumingMemoryBound(to: UInt8.self)
            let count = Int(sqlite3_column_bytes(statement, column))
            return try read(UnsafeBufferPointer(start: count > 0 ? start : nil, count: count > 0 && start != nil ? count : 0))
        }

        func bytes(_ column: Int32) -> [UInt8] {
            withBlob(column) { Array($0) }
        }
    }

    private func start(_ bind: (inout Binder) -> Void) throws {
        // No sqlite3_clear_bindings: every parameter is bound again below (the count is
        // checked), and a new binding releases the old one.
        sqlite3_reset(statement)
        var binder = Binder(statement: statement)
        bind(&binder)
        let expected = sqlite3_bind_parameter_count(statement)
        precondition(binder.index - 1 == expected, "\(sql): bound \(binder.index - 1) of \(expected) parameters")
        guard binder.failed == SQLITE_OK else { throw failure(binder.failed) }
    }

    private func failure(_ code: Int32) -> DatabaseError {
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: sql)
    }
}

/// Reads a row's columns by position (from 0), from GRDB's `Row` or in place from SQLite.
protocol ColumnReader {
    func int64(_ column: Int32) -> Int64
    /// Nil for NULL.
    func text(_ column: Int32) -> String?
    func bytes(_ column: Int32) -> [UInt8]
}

extension Row: ColumnReader {
    func int64(_ column: Int32) -> Int64 { self[Int(column)] }
    func text(_ column: Int32) -> String? { self[Int(column)] }
    func bytes(_ column: Int32) -> [UInt8] { (self[Int(column)] as Data?).map { [UInt8]($0) } ?? [] }
}
