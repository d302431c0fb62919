import Foundation
import GRDB
import LicenseCore

/// Maps `LicenseState` to and from a row of the `licenses` view.
enum LicenseRow {
    static let columns = """
        id, holder_ref, type, province, origin, key_id, holder_masked, issued_wall, issued_logical, \
        attributes, valid_from, valid_until, status, status_reason, updated_wall, updated_logical, event_count
        """

    static let upsertSQL = """
        INSERT OR REPLACE INTO licenses (\(columns))
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    static func upsert(_ state: LicenseState, in db: Database) throws {
        let statement = try db.cachedStatement(sql: upsertSQL)
        try statement.execute(arguments: [
            state.id.text, Data(state.holderRef.bytes), state.licenseType, state.province, state.issuerOrigin,
            state.issuerKeyID, state.holderMasked, Int64(state.issuedAt.wallMilliseconds),
            Int64(state.issuedAt.logical), encodeAttributes(state.attributes), state.validFrom.description,
            state.validUntil?.description, state.status.rawValue, state.statusReason,
            Int64(state.updatedAt.wallMilliseconds), Int64(state.updatedAt.logical), state.eventCount,
        ])
    }

    static func decode(_ row: Row) throws -> LicenseState {
        let idText: String = row["id"]
        let untilText: String? = row["valid_until"]
        let statusText: String = row["status"]
        let fromText: String = row["valid_from"]
        guard let id = LicenseID(idText), let from = CivilDate(iso: fromText),
              let status = LicenseState.Status(rawValue: statusText)
        else {
            throw StoreError.database("license row \(idText) is unreadable")
        }
        let until = untilText.flatMap { CivilDate(iso: $0) }
        let holderData: Data = row["holder_ref"]
        return LicenseState(
            id: id, licenseType: row["type"], province: row["province"], issuerOrigin: row["origin"],
            issuerKeyID: row["key_id"], holderRef: try HolderRef(bytes: [UInt8](holderData)),
            holderMasked: row["holder_masked"],
            issuedAt: HybridTimestamp(wallMilliseconds: UInt64(row["issued_wall"] as Int64),
                                      logical: UInt32(row["issued_logical"] as Int64)),
            attributes: try decodeAttributes(row["attributes"]), validFrom: from, validUntil: until,
            status: status, statusReason: row["status_reason"],
            updatedAt: HybridTimestamp(wallMilliseconds: UInt64(row["updated_wall"] as Int64),
                                       logical: UInt32(row["updated_logical"] as Int64)),
            eventCount: row["event_count"])
    }

    /// Attributes are a derived view, not signed data, so JSON with sorted keys is fine here.
    static func encodeAttributes(_ attributes: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: attributes, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func decodeAttributes(_ text: String) throws -> [String: String] {
        guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String] else {
            throw StoreError.database("license attributes are unreadable")
        }
        return object
    }
}
