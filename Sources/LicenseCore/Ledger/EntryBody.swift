import Foundation
import SwiftProtobuf

/// The signed part of an entry. Encoded once, by its author, as the protobuf message
/// `lx.v1.EntryBody` (Protos/lx/v1/ledger.proto); see docs/PROTOCOL.md.
public struct EntryBody: Equatable, Sendable {
    public static let currentVersion: UInt32 = 1
    /// Bodies larger than this are refused before decoding.
    public static let encodedBytesMax = 64 * 1024
    /// Sequence numbers and clock readings must fit SQLite's signed 64-bit integers.
    public static let seqMax = UInt64(Int64.max)
    /// 9999-12-31T23:59:59.999Z: later clock readings are refused as malformed.
    public static let wallMillisecondsMax: UInt64 = 253_402_300_799_999

    public var origin: String
    public var seq: UInt64
    public var prev: EntryID
    public var context: VersionVector
    public var hlc: HybridTimestamp
    public var keyID: String
    public var event: LicenseEvent

    public init(origin: String, seq: UInt64, prev: EntryID, context: VersionVector, hlc: HybridTimestamp,
                keyID: String, event: LicenseEvent) {
        self.origin = origin
        self.seq = seq
        self.prev = prev
        self.context = context
        self.hlc = hlc
        self.keyID = keyID
        self.event = event
    }

    /// The canonical encoding: protobuf fields in number order, every repeated field
    /// sorted. Only the author calls this; everyone else keeps the author's bytes.
    public func encoded() -> [UInt8] {
        var message = LXEntryBody()
        message.version = Self.currentVersion
        message.origin = origin
        message.seq = seq
        message.prev = Data(prev.bytes)
        message.context = context.sorted.map { component in
            var c = LXVersionVectorComponent()
            c.origin = component.origin
            c.seq = component.seq
            return c
        }
        var timestamp = LXHybridTimestamp()
        timestamp.wallMs = hlc.wallMilliseconds
        timestamp.logical = hlc.logical
        message.hlc = timestamp
        message.keyID = keyID
        message.event = Self.message(for: event)
        // Serialising a message with no unknown fields and no maps cannot fail.
        let data: Data
        do {
            data = try message.serializedData()
        } catch {
            preconditionFailure("protobuf serialisation of an entry body failed: \(error)")
        }
        return [UInt8](data)
    }

    /// Decodes and checks every field of an encoded body. Throws `EntryError.malformed`
    /// naming the first field that is wrong.
    public init(decoding bytes: [UInt8]) throws(EntryError) {
        guard bytes.count <= Self.encodedBytesMax else {
            throw .malformed("entry body is \(bytes.count) bytes, the limit is \(Self.encodedBytesMax)")
        }
        if let wire = WireBody.parse(bytes) {
            try self.init(checking: wire)
        } else {
            try self.init(referenceDecoding: bytes)
        }
    }

    /// Decodes with the protobuf library alone, as `init(decoding:)` does for a body its
    /// own reader gives up on: the reference the tests hold that reader to.
    @_spi(Testing) public init(referenceDecoding bytes: [UInt8]) throws(EntryError) {
        let message: LXEntryBody
        do {
            message = try LXEntryBody(serializedBytes: bytes)
        } catch {
            throw .malformed("entry body is not a valid lx.v1.EntryBody: \(error)")
        }
        guard !Self.hasUnknownFields(message) else { throw .malformed("entry body has unknown fields") }
        try self.init(checking: WireBody(message))
    }

    /// True when `init(decoding:)` reads these bytes with its own reader, without the
    /// protobuf library.
    @_spi(Testing) public static func isReadWithoutLibrary(_ bytes: [UInt8]) -> Bool {
        WireBody.parse(bytes) != nil
    }

    /// True when that reader also checked the context on the bytes, so that `init(decoding:)`
    /// does not check it again component by component.
    @_spi(Testing) public static func isContextCheckedWhileRead(_ bytes: [UInt8]) -> Bool {
        WireBody.parse(bytes)?.contextChecked == true
    }

    /// Checks every decoded field. Throws `EntryError.malformed` naming the first one
    /// that is wrong.
    private init(checking message: WireBody) throws(EntryError) {
        guard message.version == Self.currentVersion else {
            throw .malformed("entry body version \(message.version) is not supported (expected \(Self.currentVersion))")
        }
        guard NodeID.isValid(message.origin) else { throw .malformed("origin '\(message.origin)' is not a valid node id") }
        guard message.seq >= 1, message.seq <= Self.seqMax else { throw .malformed("seq must be between 1 and 2^63 - 1") }
        let prev = try EntryID(bytes: message.prev)
        guard (message.seq == 1) == (prev == .zero) else {
            throw .malformed("prev must be all zeros exactly when seq is 1")
        }
        let context: VersionVector
        if message.contextChecked {
            // Copied into an array of its own size: the reader's has room for a national
            // network, and a decoded entry can be kept a long time.
            var components: [(origin: String, seq: UInt64)] = []
            components.reserveCapacity(message.context.count)
            components.append(contentsOf: message.context)
            context = VersionVector(checkedComponents: components)
        } else {
            var checked = VersionVector(minimumCapacity: message.context.count)
            var previousOrigin = ""
            for component in message.context {
                guard NodeID.isValid(component.origin), component.seq > 0, component.seq <= Self.seqMax,
                      component.origin > previousOrigin else {
                    throw .malformed("context must list distinct valid origins with positive seqs, sorted by origin")
                }
                checked[component.origin] = component.seq
                previousOrigin = component.origin
            }
            context = checked
        }
        guard context[message.origin] == message.seq - 1 else {
            throw .malformed("context must hold the origin's own previous seq \(message.seq - 1)")
        }
        guard let hlc = message.hlc else { throw .malformed("hlc is missing") }
        guard hlc.wall <= Self.wallMillisecondsMax else {
            throw .malformed("hlc wall clock \(hlc.wall) is after the year 9999")
        }
        guard IssuerKeyID.isValid(message.keyID, origin: message.origin) else {
            throw .malformed("key id '\(message.keyID.prefix(80))' is not '\(message.origin)-' and 8 hex digits")
        }
        guard let kind = message.event else { throw .malformed("event is missing") }
        self.origin = message.origin
        self.seq = message.seq
        self.prev = prev
        self.context = context
        self.hlc = HybridTimestamp(wallMilliseconds: hlc.wall, logical: hlc.logical)
        self.keyID = message.keyID
        self.event = try Self.event(from: kind)
    }

    /// True when the body or any message nested in it carries fields this version does
    /// not know. Unknown fields anywhere are refused: a signed body must mean exactly what
    /// every node decodes from it, with nothing smuggled alongside.
    private static func hasUnknownFields(_ m: LXEntryBody) -> Bool {
        if !m.unknownFields.data.isEmpty || !m.hlc.unknownFields.data.isEmpty || !m.event.unknownFields.data.isEmpty {
            return true
        }
        if m.context.contains(where: { !$0.unknownFields.data.isEmpty }) { return true }
        switch m.event.kind {
        case let .issue(e)?:
            return !e.unknownFields.data.isEmpty || e.attributes.contains { !$0.unknownFields.data.isEmpty }
        case let .amend(e)?:
            return !e.unknownFields.data.isEmpty || e.set.contains { !$0.unknownFields.data.isEmpty }
        case let .renew(e)?:
            return !e.unknownFields.data.isEmpty
        case let .suspend(e)?, let .reinstate(e)?, let .revoke(e)?:
            return !e.unknownFields.data.isEmpty
        case let .agreement(e)?:
            return !e.unknownFields.data.isEmpty || e.terms.contains { !$0.unknownFields.data.isEmpty }
        case let .transfer(e)?:
            return !e.unknownFields.data.isEmpty || !e.license.unknownFields.data.isEmpty
                || e.license.attributes.contains { !$0.unknownFields.data.isEmpty }
        case nil:
            return false
        }
    }

    // MARK: - Event mapping

    private static func message(for event: LicenseEvent) -> LXLicenseEvent {
        var out = LXLicenseEvent()
        switch event {
        case let .issue(issue):
            out.kind = .issue(issueMessage(issue))
        case let .transfer(transfer):
            var m = LXTransferEvent()
            m.licenseID = transfer.licenseID.text
            m.license = issueMessage(transfer.license)
            m.reason = transfer.reason
            out.kind = .transfer(m)
        case let .amend(amend):
            var m = LXAmendEvent()
            m.licenseID = amend.licenseID.text
            m.set = attributeMessages(amend.set)
            m.remove = amend.remove.sorted()
            m.reason = amend.reason
            out.kind = .amend(m)
        case let .renew(renew):
            var m = LXRenewEvent()
            m.licenseID = renew.licenseID.text
            m.validUntil = renew.validUntil.description
            m.reason = renew.reason
            out.kind = .renew(m)
        case let .suspend(change):
            out.kind = .suspend(statusMessage(change))
        case let .reinstate(change):
            out.kind = .reinstate(statusMessage(change))
        case let .revoke(change):
            out.kind = .revoke(statusMessage(change))
        case let .agreement(agreement):
            var m = LXAgreementEvent()
            m.province = agreement.province
            m.terms = agreement.terms.sorted { $0.key < $1.key }.map { province, types in
                var t = LXAgreementTerm()
                t.province = province
                switch types {
                case .all: t.licenseTypes = [RecognitionAgreement.wildcard]
                case let .only(codes): t.licenseTypes = codes.sorted()
                }
                return t
            }
            out.kind = .agreement(m)
        }
        return out
    }

    private static func issueMessage(_ issue: LicenseEvent.Issue) -> LXIssueEvent {
        var m = LXIssueEvent()
        m.licenseType = issue.licenseType
        m.province = issue.province
        m.holderRef = Data(issue.holderRef.bytes)
        m.holderMasked = issue.holderMasked
        m.attributes = attributeMessages(issue.attributes)
        m.validFrom = issue.validFrom.description
        m.validUntil = issue.validUntil?.description ?? ""
        return m
    }

    private static func attributeMessages(_ attributes: [String: String]) -> [LXAttribute] {
        attributes.sorted { $0.key < $1.key }.map { name, value in
            var a = LXAttribute()
            a.name = name
            a.value = value
            return a
        }
    }

    private static func statusMessage(_ change: LicenseEvent.StatusChange) -> LXStatusEvent {
        var m = LXStatusEvent()
        m.licenseID = change.licenseID.text
        m.reason = change.reason
        return m
    }

    private static func event(from kind: WireEvent) throws(EntryError) -> LicenseEvent {
        switch kind {
        case let .issue(m):
            return .issue(try issue(m, event: "issue"))
        case let .transfer(licenseID, license, reason):
            guard let license else { throw .malformed("transfer: the new license is missing") }
            return .transfer(LicenseEvent.Transfer(licenseID: try Self.licenseID(licenseID, event: "transfer"),
                                                   license: try issue(license, event: "transfer"), reason: try Self.reason(reason)))
        case let .amend(licenseID, set, remove, reason):
            guard remove == remove.sorted(), Set(remove).count == remove.count else {
                throw .malformed("amend: remove must be sorted and distinct")
            }
            for name in remove { try noNUL(name, "amend: a removed attribute name") }
            return .amend(LicenseEvent.Amend(
                licenseID: try Self.licenseID(licenseID, event: "amend"),
                set: try attributes(set, event: "amend"), remove: remove, reason: try Self.reason(reason)))
        case let .renew(licenseID, validUntil, reason):
            guard let until = CivilDate(iso: validUntil) else { throw .malformed("renew: valid_until is not a date") }
            return .renew(LicenseEvent.Renew(
                licenseID: try Self.licenseID(licenseID, event: "renew"), validUntil: until, reason: try Self.reason(reason)))
        case let .suspend(licenseID, reason):
            return .suspend(try statusChange(licenseID, reason, event: "suspend"))
        case let .reinstate(licenseID, reason):
            return .reinstate(try statusChange(licenseID, reason, event: "reinstate"))
        case let .revoke(licenseID, reason):
            return .revoke(try statusChange(licenseID, reason, event: "revoke"))
        case let .agreement(province, terms):
            return .agreement(try agreement(province: province, terms: terms))
        }
    }

    private static func agreement(province: String, terms wireTerms: [WireBody.Term]) throws(EntryError) -> RecognitionAgreement {
        guard Province.byCode[province] != nil else { throw .malformed("agreement: unknown province '\(province.prefix(10))'") }
        guard wireTerms.count <= RecognitionAgreement.termsMax else { throw .malformed("agreement: too many terms") }
        var terms: [String: RecognitionAgreement.AcceptedTypes] = [:]
        var previous = ""
        for term in wireTerms {
            guard term.province == RecognitionAgreement.wildcard || Province.byCode[term.province] != nil else {
                throw .malformed("agreement: term names unknown province '\(term.province.prefix(10))'")
            }
            guard term.province > previous else { throw .malformed("agreement: terms must be sorted by province, distinct") }
            guard term.licenseTypes.count <= RecognitionAgreement.typesMax,
                  term.licenseTypes == Array(Set(term.licenseTypes)).sorted(),
                  term.licenseTypes.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 64 && !$0.utf8.contains(0) })
            else { throw .malformed("agreement: license types must be sorted, distinct, non-empty codes") }
            if term.licenseTypes.contains(RecognitionAgreement.wildcard) {
                guard term.licenseTypes.count == 1 else { throw .malformed("agreement: \"*\" must stand alone") }
                terms[term.province] = .all
            } else {
                terms[term.province] = .only(term.licenseTypes)
            }
            previous = term.province
        }
        return RecognitionAgreement(province: province, terms: terms)
    }

    private static func issue(_ m: WireBody.Issue, event: String) throws(EntryError) -> LicenseEvent.Issue {
        guard !m.licenseType.isEmpty else { throw .malformed("\(event): license type is empty") }
        try noNUL(m.licenseType, "\(event): the license type")
        try noNUL(m.holderMasked, "\(event): the masked holder")
        guard Province.byCode[m.province] != nil else { throw .malformed("\(event): unknown province '\(m.province)'") }
        let holderRef: HolderRef
        do {
            holderRef = try HolderRef(bytes: m.holderRef)
        } catch {
            throw .malformed("\(event): \(error)")
        }
        guard let from = CivilDate(iso: m.validFrom) else { throw .malformed("\(event): valid_from is not a date") }
        var until: CivilDate?
        if !m.validUntil.isEmpty {
            guard let parsed = CivilDate(iso: m.validUntil), parsed >= from else {
                throw .malformed("\(event): valid_until is not a date on or after valid_from")
            }
            until = parsed
        }
        return LicenseEvent.Issue(
            licenseType: m.licenseType, province: m.province, holderRef: holderRef,
            holderMasked: m.holderMasked, attributes: try attributes(m.attributes, event: event),
            validFrom: from, validUntil: until)
    }

    private static func statusChange(_ licenseID: String, _ reason: String, event: String) throws(EntryError) -> LicenseEvent.StatusChange {
        LicenseEvent.StatusChange(licenseID: try Self.licenseID(licenseID, event: event), reason: try Self.reason(reason))
    }

    private static func licenseID(_ text: String, event: String) throws(EntryError) -> LicenseID {
        guard let id = LicenseID(text) else { throw .malformed("\(event): license id '\(text.prefix(80))' is not <origin>-<seq>-<8 hex digits>") }
        return id
    }

    private static func reason(_ text: String) throws(EntryError) -> String {
        guard text.utf8.count <= LicenseEvent.reasonBytesMax else { throw .malformed("reason is too long") }
        try noNUL(text, "reason")
        return text
    }

    /// No text of a body holds U+0000 (docs/PROTOCOL.md): SQLite's text binding would cut
    /// it there, and a node's stored view would no longer be the fold of what was signed.
    private static func noNUL(_ text: String, _ field: @autoclosure () -> String) throws(EntryError) {
        guard !text.utf8.contains(0) else { throw .malformed("\(field()) contains a NUL character") }
    }

    private static func attributes(_ list: [(name: String, value: String)], event: String) throws(EntryError) -> [String: String] {
        guard list.count <= LicenseEvent.attributesMax else { throw .malformed("\(event): too many attributes") }
        var out: [String: String] = [:]
        var previous = ""
        for a in list {
            guard !a.name.isEmpty, a.name > previous else {
                throw .malformed("\(event): attributes must have distinct names, sorted")
            }
            guard a.value.utf8.count <= AttributeSpec.valueBytesMax else {
                throw .malformed("\(event): attribute '\(a.name)' is too long")
            }
            try noNUL(a.name, "\(event): an attribute name")
            try noNUL(a.value, "\(event): attribute '\(a.name)'")
            out[a.name] = a.value
            previous = a.name
        }
        return out
    }
}
