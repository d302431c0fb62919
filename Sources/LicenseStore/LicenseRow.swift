import Foundation
import GRDB
import LicenseCore

/// Maps `LicenseState` to and from a row of the `licenses` view.
enum LicenseRow {
    static let columns = """
        row, id, holder_ref, type, province, origin, key_id, holder_masked, issued_wall, issued_logical, \
        attributes, valid_from, valid_until, status, status_reason, updated_wall, updated_logical, event_count
        """
    // The queries, built once: an append runs them for most entries, and each run looks its
    // statement up by the text.
    private static let byID = """
        SELECT \(columns) FROM licenses
        WHERE row = (SELECT license_row FROM entries WHERE origin = ? AND seq = ?) AND id = ?
        """
    private static let byHolder = "SELECT \(columns) FROM licenses WHERE holder_key = ? AND holder_ref = ? ORDER BY row"

    /// Inserts a new license and returns its row number.
    static func insert(_ state: LicenseState, in db: Database) throws -> Int64 {
        try RawStatement(db, """
            INSERT INTO licenses (id, holder_key, holder_ref, type, province, origin, key_id, holder_masked, \
            issued_wall, issued_logical, attributes, valid_from, valid_until, status, status_reason, \
            updated_wall, updated_logical, event_count)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute { row in
                row.bind(state.id.text)
                row.bind(holderKey(state.holderRef))
                row.bind(blob: state.holderRef.bytes)
                row.bind(state.licenseType)
                row.bind(state.province)
                row.bind(state.issuerOrigin)
                row.bind(state.issuerKeyID)
                row.bind(state.holderMasked)
                row.bind(Int64(state.issuedAt.wallMilliseconds))
                row.bind(Int64(state.issuedAt.logical))
                row.bindMutableColumns(of: state)
            }
        return db.lastInsertedRowID
    }

    /// Rewrites the mutable columns of an existing license.
    static func update(_ state: LicenseState, row: Int64, in db: Database) throws {
        try RawStatement(db, """
            UPDATE licenses SET attributes = ?, valid_from = ?, valid_until = ?, status = ?, status_reason = ?, \
            updated_wall = ?, updated_logical = ?, event_count = ? WHERE row = ?
            """).execute { columns in
                columns.bindMutableColumns(of: state)
                columns.bind(row)
            }
    }

    /// The license with `id` and its row number.
    /// Found through the issuing entry's (origin, seq) key; the id's check digits
    /// must match too.
    static func fetch(_ id: LicenseID, in db: Database) throws -> (row: Int64, state: LicenseState)? {
        try RawStatement(db, byID)
            .first({ $0.bind(id.origin); $0.bind(Int64(id.seq)); $0.bind(id.text) }) { (row: $0.int64(0), state: try decode($0)) }
    }

    /// The licenses of one holder, with their row numbers, by row.
    static func fetchRows(holder: HolderRef, in db: Database) throws -> [(row: Int64, state: LicenseState)] {
        try RawStatement(db, byHolder)
            .all({ $0.bind(holderKey(holder)); $0.bind(blob: holder.bytes) }) { (row: $0.int64(0), state: try decode($0)) }
    }

    /// The licenses of one holder, by row.
    static func fetch(holder: HolderRef, in db: Database) throws -> [LicenseState] {
        try fetchRows(holder: holder, in: db).map(\.state)
    }

    /// Reads a row selected with `columns`, by position: a lookup by column name costs a
    /// lower-cased copy of every name, per column, per row.
    static func decode(_ row: some ColumnReader) throws -> LicenseState {
        guard let idText = row.text(1), let id = LicenseID(idText), let from = row.text(11).flatMap(CivilDate.init(iso:)),
              let status = row.text(13).flatMap(LicenseState.Status.init(rawValue:)),
              let licenseType = row.text(3), let province = row.text(4), let origin = row.text(5), let keyID = row.text(6),
              let masked = row.text(7), let attributes = row.text(10), let reason = row.text(14)
        else {
            throw StoreError.database("license row \(row.int64(0)) is unreadable")
        }
        var until: CivilDate?
        if let untilText = row.text(12) {
            guard let parsed = CivilDate(iso: untilText) else {
                throw StoreError.database("license \(idText) has an unreadable valid_until")
            }
            until = parsed
        }
        return LicenseState(
            id: id, licenseType: licenseType, province: province, issuerOrigin: origin,
            issuerKeyID: keyID, holderRef: try HolderRef(bytes: row.bytes(2)),
            holderMasked: masked,
            issuedAt: HybridTimestamp(wallMilliseconds: UInt64(row.int64(8)), logical: UInt32(row.int64(9))),
            attributes: try decodeAttributes(attributes), validFrom: from, validUntil: until,
            status: status, statusReason: reason,
            updatedAt: HybridTimestamp(wallMilliseconds: UInt64(row.int64(15)), logical: UInt32(row.int64(16))),
            eventCount: Int(row.int64(17)))
    }

    /// The first 8 bytes of a holder ref, big-endian, as SQLite's signed 64-bit integer.
    static func holderKey(_ ref: HolderRef) -> Int64 {
        Int64(bitPattern: ref.bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Attributes are a derived view, not signed data: a JSON object with sorted keys,
    /// written by hand because Foundation's JSONSerialization was 40% of an append.
    static func encodeAttributes(_ attributes: [String: String]) -> String {
        var out: [UInt8] = [UInt8(ascii: "{")]
        out.reserveCapacity(64 * attributes.count + 2)
        for (index, attribute) in attributes.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendQuoted(attribute.key, to: &out)
            out.append(UInt8(ascii: ":"))
            appendQuoted(attribute.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// A JSON string, byte by byte: bytes of multi-byte UTF-8 sequences (all ≥ 0x80) pass
    /// through as they are, which JSON allows.
    private static func appendQuoted(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Reads the column: what `encodeAttributes` writes is read byte by byte; anything else
    /// (no writer of this store makes it) goes to Foundation's JSON parser, which every
    /// holder lookup paid for before.
    static func decodeAttributes(_ text: String) throws -> [String: String] {
        if let attributes = AttributesReader.read(text) { return attributes }
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw StoreError.database("license attributes are unreadable")
        }
        return object
    }
}

/// A reader for the JSON objects `LicenseRow.encodeAttributes` writes: string keys and
/// values, the escapes it emits, no white space. Nil for anything else, including a key
/// written twice.
private struct AttributesReader {
    private let bytes: [UInt8]
    private var index = 0

    private init(_ text: String) {
        bytes = Array(text.utf8)
    }

    static func read(_ text: String) -> [String: String]? {
        var reader = AttributesReader(text)
        return reader.object()
    }

    private mutating func next() -> UInt8? {
        guard index < bytes.count else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func object() -> [String: String]? {
        guard next() == UInt8(ascii: "{") else { return nil }
        var object: [String: String] = [:]
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return index == bytes.count ? object : nil
        }
        while true {
            guard let key = string(), next() == UInt8(ascii: ":"), let value = string(),
                  object.updateValue(value, forKey: key) == nil else { return nil }
            switch next() {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return index == bytes.count ? object : nil
            default: return nil
            }
        }
    }

    private mutating func string() -> String? {
        guard next() == UInt8(ascii: "\"") else { return nil }
        var out: [UInt8] = []
        while let byte = next() {
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                switch next() {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
                case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
                case UInt8(ascii: "u"):
                    // The writer escapes only control characters, as \u00XX.
                    guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "0"),
                          let high = Self.hex(bytes[index + 2]), let low = Self.hex(bytes[index + 3]), high < 2 else { return nil }
                    out.append(high << 4 | low)
                    index += 4
                default: return nil
                }
            case 0..<0x20:
                return nil
            default:
                out.append(byte)
            }
        }
        return nil
    }

    private static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}

extension RawStatement.Binder {
    /// `attributes, valid_from, valid_until, status, status_reason, updated_wall,
    /// updated_logical, event_count`: what events change.
    fileprivate mutating func bindMutableColumns(of state: LicenseState) {
        bind(LicenseRow.encodeAttributes(state.attributes))
        bind(state.validFrom.description)
        bind(state.validUntil?.description)
        bind(state.status.rawValue)
        bind(state.statusReason)
        bind(Int64(state.updatedAt.wallMilliseconds))
        bind(Int64(state.updatedAt.logical))
        bind(Int64(state.eventCount))
    }
}
