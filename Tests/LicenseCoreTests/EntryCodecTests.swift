import LicenseCore
import Testing

/// Entry bodies: canonical encoding, signing, and refusal of every malformed body with
/// `EntryError.malformed` (the swift-nio-extras "malicious length" idea: the decoder
/// faces bytes from other provinces and must never trust them).
@Suite struct EntryCodecTests {
    static let wall: UInt64 = 1_767_225_600_000 // 2026-01-01T00:00:00Z

    static func issueBody() -> EntryBody {
        EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: Fixtures.hlc(wall),
                  keyID: Fixtures.signer.keyID, event: .issue(Fixtures.drivingLicenceIssue()))
    }

    static let licenseID = LicenseID("gd-999-00112233")!

    /// Every kind of event, each in a body that is valid at seq 3 of "gd".
    static func bodies() -> [EntryBody] {
        let prev = try! EntryID(bytes: [UInt8](repeating: 7, count: 32))
        let context = VersionVector(["gd": 2, "bj": 5, "sh": 1])
        let events: [LicenseEvent] = [
            .issue(Fixtures.drivingLicenceIssue()),
            .issue(Fixtures.qualificationIssue()),
            .amend(.init(licenseID: licenseID, set: ["restrictions": "glasses", "licence_class": "B1"],
                         remove: ["zeta", "alpha"], reason: "exam passed")),
            .amend(.init(licenseID: licenseID, set: [:], remove: ["restrictions"], reason: "")),
            .renew(.init(licenseID: licenseID, validUntil: Fixtures.date("2038-01-01"), reason: "")),
            .suspend(.init(licenseID: licenseID, reason: "court order 12")),
            .reinstate(.init(licenseID: licenseID, reason: "order lifted")),
            .revoke(.init(licenseID: licenseID, reason: "fraud 驾驶")),
        ]
        return events.map { event in
            EntryBody(origin: "gd", seq: 3, prev: prev, context: context, hlc: Fixtures.hlc(wall + 5, 2),
                      keyID: Fixtures.signer.keyID, event: event)
        }
    }

    // MARK: - Round trips and signatures

    @Test func signEncodeDecode_shouldRoundTripEveryEventKind() throws {
        for body in Self.bodies() {
            let signed = Entry.sign(body, with: Fixtures.key)
            let decoded = try Entry(bodyBytes: signed.bodyBytes, signature: signed.signature)
            #expect(decoded.body == body, "\(body.event.kind)")
            #expect(decoded.bodyBytes == signed.bodyBytes)
            #expect(decoded.id == signed.id)
            #expect(try EntryBody(decoding: body.encoded()) == body)
        }
    }

    @Test func encoded_shouldBeDeterministicWhateverTheDictionaryOrder() {
        var a = Fixtures.drivingLicenceIssue()
        a.attributes = ["licence_class": "C1", "first_issue_date": "2026-01-01", "restrictions": "none"]
        var b = a
        b.attributes = [:]
        b.attributes["restrictions"] = "none"
        b.attributes["first_issue_date"] = "2026-01-01"
        b.attributes["licence_class"] = "C1"
        func body(_ issue: LicenseEvent.Issue, _ context: VersionVector) -> EntryBody {
            EntryBody(origin: "gd", seq: 2, prev: Entry.sign(Self.issueBody(), with: Fixtures.key).id, context: context,
                      hlc: Fixtures.hlc(Self.wall), keyID: "gd-0123abcd", event: .issue(issue))
        }
        var context = VersionVector()
        context["zj"] = 4
        context["gd"] = 1
        context["ah"] = 9
        #expect(body(a, VersionVector(["ah": 9, "gd": 1, "zj": 4])).encoded() == body(b, context).encoded())
    }

    @Test func sign_shouldProduceSignatureThatVerifiesUnderTheSignersKeyOnly() {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        #expect(entry.signature.count == Signature.byteCount)
        #expect(entry.hasValidSignature(by: Fixtures.key.publicKey))
        #expect(!entry.hasValidSignature(by: Fixtures.otherKey.publicKey))
    }

    @Test func signature_shouldCoverTheDomainPrefix() {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        // Ed25519 over "lx-entry-v1" || body, not over the body alone.
        #expect(Fixtures.key.publicKey.isValidSignature(entry.signature, for: Array("lx-entry-v1".utf8) + entry.bodyBytes))
        #expect(!Fixtures.key.publicKey.isValidSignature(entry.signature, for: entry.bodyBytes))
    }

    @Test func id_shouldBeBlake2bOfBodyAndSignature() {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        #expect(entry.id.bytes == Sodium.blake2b256(entry.bodyBytes, entry.signature))
        #expect(entry.licenseID == LicenseID(origin: entry.body.origin, seq: entry.body.seq, issuingEntry: entry.id))
        #expect(entry.licenseID.text == "gd-1-" + Hex.encode(entry.id.bytes.prefix(4)))
    }

    @Test func licenseID_ofLaterEvent_shouldBeItsTarget() {
        let revoke = Self.bodies().last!
        #expect(Entry.sign(revoke, with: Fixtures.key).licenseID == Self.licenseID)
    }

    @Test func flippedByteInBody_shouldNeverBeAccepted() {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        var accepted: [Int] = []
        for index in entry.bodyBytes.indices {
            for mask: UInt8 in [0x01, 0x80] {
                var bytes = entry.bodyBytes
                bytes[index] ^= mask
                // Either the body no longer decodes, or its signature no longer verifies.
                if let tampered = try? Entry(bodyBytes: bytes, signature: entry.signature),
                   tampered.hasValidSignature(by: Fixtures.key.publicKey) {
                    accepted.append(index)
                }
            }
        }
        #expect(accepted.isEmpty)
    }

    @Test func flippedByteInAttributeValue_shouldDecodeButFailVerification() throws {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        var bytes = entry.bodyBytes
        let at = try #require(bytes.firstRange(of: Array("C1".utf8)))
        bytes[at.lowerBound + 1] = UInt8(ascii: "2")
        let tampered = try Entry(bodyBytes: bytes, signature: entry.signature)
        guard case let .issue(issue) = tampered.body.event else {
            Issue.record("tampered body should still be an issue")
            return
        }
        #expect(issue.attributes["licence_class"] == "C2")
        #expect(!tampered.hasValidSignature(by: Fixtures.key.publicKey))
        #expect(tampered.id != entry.id)
    }

    @Test func flippedByteInSignature_shouldFailVerification() throws {
        let entry = Entry.sign(Self.issueBody(), with: Fixtures.key)
        for index in entry.signature.indices {
            var signature = entry.signature
            signature[index] ^= 0x01
            let tampered = try Entry(bodyBytes: entry.bodyBytes, signature: signature)
            #expect(!tampered.hasValidSignature(by: Fixtures.key.publicKey), "signature byte \(index)")
            #expect(tampered.id != entry.id)
        }
    }

    // MARK: - The hand-written encoder agrees with the canonical one

    @Test func handWrittenEncoding_shouldEqualCanonicalEncoding() {
        #expect(RawBody().encoded() == Self.issueBody().encoded())
        let prev = [UInt8](repeating: 7, count: 32)
        var raw = RawBody(seq: 3, prev: prev, context: [("bj", 5), ("gd", 2), ("sh", 1)], hlc: (Self.wall + 5, 2))
        raw.event = RawBody.status(field: 6, licenseID: Self.licenseID.text, reason: "fraud 驾驶")
        #expect(raw.encoded() == Self.bodies().last!.encoded())
    }

    // MARK: - Malformed bodies

    /// Expects `EntryError.malformed` whose detail mentions `fragment`.
    func expectMalformed(_ bytes: [UInt8], mentioning fragment: String?, sourceLocation: SourceLocation = #_sourceLocation) {
        let error = #expect(throws: EntryError.self, sourceLocation: sourceLocation) { try EntryBody(decoding: bytes) }
        guard case let .malformed(detail) = error else { return }
        if let fragment {
            #expect(detail.contains(fragment), "detail: \(detail)", sourceLocation: sourceLocation)
        }
        // The same bytes must be refused when they arrive as an entry.
        #expect(throws: EntryError.self, sourceLocation: sourceLocation) {
            try Entry(bodyBytes: bytes, signature: [UInt8](repeating: 0, count: 64))
        }
    }

    @Test func decode_shouldRefuseGarbageBytes() {
        expectMalformed([0xff, 0xff, 0xff, 0xff], mentioning: "not a valid lx.v1.EntryBody")
        expectMalformed(Array("hello, world".utf8), mentioning: nil)
        // A length prefix that claims far more bytes than follow.
        expectMalformed([0x12, 0xff, 0xff, 0xff, 0x7f, 0x67, 0x64], mentioning: "not a valid lx.v1.EntryBody")
        expectMalformed([], mentioning: "version 0")
    }

    @Test func decode_shouldRefuseWrongVersion() {
        expectMalformed(RawBody(version: 2).encoded(), mentioning: "version 2")
        expectMalformed(RawBody(version: 0).encoded(), mentioning: "version 0")
        // Patching the canonical bytes: field 1 (version) is the first two bytes.
        var bytes = Self.issueBody().encoded()
        #expect(Array(bytes.prefix(2)) == [0x08, 0x01])
        bytes[1] = 0x02
        expectMalformed(bytes, mentioning: "version 2")
    }

    @Test func decode_shouldRefuseInvalidOrigin() {
        expectMalformed(RawBody(origin: "GD").encoded(), mentioning: "origin")
        expectMalformed(RawBody(origin: "").encoded(), mentioning: "origin")
        expectMalformed(RawBody(origin: String(repeating: "a", count: 33)).encoded(), mentioning: "origin")
    }

    @Test func decode_shouldRefuseSeqZero() {
        expectMalformed(RawBody(seq: 0).encoded(), mentioning: "seq must be between 1 and 2^63 - 1")
        var body = Self.issueBody()
        body.seq = 0
        expectMalformed(body.encoded(), mentioning: "seq must be between 1 and 2^63 - 1")
    }

    @Test func decode_shouldRefuseNonZeroPrevAtSeqOne() {
        var body = Self.issueBody()
        body.prev = Entry.sign(Self.issueBody(), with: Fixtures.key).id
        expectMalformed(body.encoded(), mentioning: "prev must be all zeros exactly when seq is 1")
    }

    @Test func decode_shouldRefuseZeroPrevAfterSeqOne() {
        expectMalformed(RawBody(seq: 2, context: [("gd", 1)]).encoded(),
                        mentioning: "prev must be all zeros exactly when seq is 1")
    }

    @Test func decode_shouldRefusePrevOfWrongLength() {
        expectMalformed(RawBody(prev: [UInt8](repeating: 0, count: 31)).encoded(), mentioning: "32 bytes")
        expectMalformed(RawBody(prev: []).encoded(), mentioning: "32 bytes")
    }

    @Test func decode_shouldRefuseUnsortedContext() {
        let prev = [UInt8](repeating: 7, count: 32)
        expectMalformed(RawBody(seq: 2, prev: prev, context: [("gd", 1), ("bj", 5)]).encoded(),
                        mentioning: "sorted by origin")
    }

    @Test func decode_shouldRefuseDuplicateContextOrigin() {
        let prev = [UInt8](repeating: 7, count: 32)
        expectMalformed(RawBody(seq: 2, prev: prev, context: [("bj", 5), ("bj", 6), ("gd", 1)]).encoded(),
                        mentioning: "distinct")
    }

    @Test func decode_shouldRefuseZeroSeqOrInvalidOriginInContext() {
        let prev = [UInt8](repeating: 7, count: 32)
        expectMalformed(RawBody(seq: 2, prev: prev, context: [("bj", 0), ("gd", 1)]).encoded(), mentioning: "context")
        expectMalformed(RawBody(seq: 2, prev: prev, context: [("BJ", 1), ("gd", 1)]).encoded(), mentioning: "context")
    }

    @Test func decode_shouldRefuseContextWithoutOwnPreviousSeq() {
        let prev = [UInt8](repeating: 7, count: 32)
        expectMalformed(RawBody(seq: 3, prev: prev, context: [("gd", 1)]).encoded(), mentioning: "previous seq 2")
        // At seq 1 the context may not claim an earlier entry of its own origin.
        expectMalformed(RawBody(seq: 1, context: [("gd", 1)]).encoded(), mentioning: "previous seq 0")
    }

    @Test func decode_shouldRefuseMissingHlc() {
        expectMalformed(RawBody(hlc: nil).encoded(), mentioning: "hlc")
    }

    @Test func decode_shouldRefuseBadKeyID() {
        expectMalformed(RawBody(keyID: "").encoded(), mentioning: "key id")
        expectMalformed(RawBody(keyID: String(repeating: "k", count: 65)).encoded(), mentioning: "key id")
        // The derived form <origin>-<8 hex digits>, for the body's own origin only.
        expectMalformed(RawBody(keyID: "sh-0123abcd").encoded(), mentioning: "key id")
        expectMalformed(RawBody(keyID: "gd-0123ABCD").encoded(), mentioning: "key id")
        expectMalformed(RawBody(keyID: "gd-0123abc").encoded(), mentioning: "key id")
        #expect(throws: Never.self) { try EntryBody(decoding: RawBody(keyID: "gd-0123abcd").encoded()) }
    }

    @Test func decode_shouldRefuseMissingOrEmptyEvent() {
        expectMalformed(RawBody(event: nil).encoded(), mentioning: "event is missing")
        expectMalformed(RawBody(event: { _ in }).encoded(), mentioning: "event is missing")
    }

    @Test func decode_shouldRefuseUnknownTopLevelField() {
        // Field 99, varint 1, appended to a valid body (protobuf concatenation).
        expectMalformed(Self.issueBody().encoded() + [0x98, 0x06, 0x01], mentioning: "unknown fields")
        // Field 9, length-delimited.
        expectMalformed(Self.issueBody().encoded() + [0x4a, 0x02, 0x61, 0x62], mentioning: "unknown fields")
    }

    @Test func decode_shouldRefuseUnknownFieldInsideNestedMessages() {
        let unknown: [UInt8] = [0x98, 0x06, 0x01] // field 99, varint 1
        // Inside the hlc.
        var raw = RawBody()
        raw.hlcExtra = unknown
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
        // Inside a context component.
        raw = RawBody(seq: 2, prev: [UInt8](repeating: 7, count: 32), context: [("gd", 1)])
        raw.contextExtra = unknown
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
        // Inside the event, next to the issue.
        raw = RawBody()
        raw.eventExtra = unknown
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
        // Inside the issue itself, and inside one of its attributes.
        raw = RawBody()
        raw.event = RawBody.issue(extra: unknown)
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
        raw.event = RawBody.issue(attributeExtra: unknown)
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
        // Inside a status event.
        raw.event = RawBody.status(field: 6, licenseID: Self.licenseID.text, reason: "x", extra: unknown)
        expectMalformed(raw.encoded(), mentioning: "unknown fields")
    }

    @Test func decode_shouldRefuseOversizedBody() {
        var issue = Fixtures.drivingLicenceIssue()
        for index in 0..<20 {
            issue.attributes["filler\(index)"] = String(repeating: "f", count: 4000)
        }
        let body = EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: Fixtures.hlc(Self.wall),
                             keyID: "gd-0123abcd", event: .issue(issue))
        let bytes = body.encoded()
        #expect(bytes.count > EntryBody.encodedBytesMax)
        expectMalformed(bytes, mentioning: "the limit is \(EntryBody.encodedBytesMax)")
        expectMalformed([UInt8](repeating: 0, count: EntryBody.encodedBytesMax + 1), mentioning: "limit")
    }

    @Test func decode_shouldAcceptBodyOfExactlyTheLimit() throws {
        // Grow one attribute until the body is exactly encodedBytesMax bytes.
        var issue = Fixtures.drivingLicenceIssue()
        for index in 0..<16 {
            issue.attributes["filler\(index)"] = String(repeating: "f", count: 4000)
        }
        func encoded(_ length: Int) -> [UInt8] {
            var copy = issue
            copy.attributes["last"] = String(repeating: "l", count: length)
            return EntryBody(origin: "gd", seq: 1, prev: .zero, context: VersionVector(), hlc: Fixtures.hlc(Self.wall),
                             keyID: "gd-0123abcd", event: .issue(copy)).encoded()
        }
        let length = 1000 + EntryBody.encodedBytesMax - encoded(1000).count
        let bytes = encoded(length)
        #expect(bytes.count == EntryBody.encodedBytesMax)
        #expect(throws: Never.self) { try EntryBody(decoding: bytes) }
        expectMalformed(encoded(length + 1), mentioning: "limit")
    }

    @Test func entry_shouldRefuseWrongSignatureLength() {
        let body = Self.issueBody().encoded()
        for length in [0, 32, 63, 65, 128] {
            let error = #expect(throws: EntryError.self) {
                try Entry(bodyBytes: body, signature: [UInt8](repeating: 1, count: length))
            }
            #expect(error == .malformed("signature must be 64 bytes, got \(length)"))
        }
    }

    @Test func decode_shouldRefuseBadIssueFields() {
        expectMalformed(RawBody(event: RawBody.issue(licenseType: "")).encoded(), mentioning: "license type is empty")
        expectMalformed(RawBody(event: RawBody.issue(province: "999999")).encoded(), mentioning: "unknown province")
        expectMalformed(RawBody(event: RawBody.issue(holderRef: [1, 2, 3])).encoded(), mentioning: "holder ref")
        expectMalformed(RawBody(event: RawBody.issue(validFrom: "2026-02-30")).encoded(), mentioning: "valid_from")
        expectMalformed(RawBody(event: RawBody.issue(validUntil: "2025-12-31")).encoded(), mentioning: "valid_until")
        expectMalformed(RawBody(event: RawBody.issue(attributes: [("licence_class", "C1"), ("first_issue_date", "x")]))
            .encoded(), mentioning: "sorted")
        expectMalformed(RawBody(event: RawBody.issue(attributes: [("a", "1"), ("a", "2")])).encoded(), mentioning: "distinct")
        expectMalformed(RawBody(event: RawBody.issue(attributes: [("", "1")])).encoded(), mentioning: "distinct")
        let tooMany = (0...LicenseEvent.attributesMax).map { ("a\(1000 + $0)", "v") }
        expectMalformed(RawBody(event: RawBody.issue(attributes: tooMany)).encoded(), mentioning: "too many attributes")
        let long = String(repeating: "v", count: AttributeSpec.valueBytesMax + 1)
        expectMalformed(RawBody(event: RawBody.issue(attributes: [("a", long)])).encoded(), mentioning: "too long")
    }

    @Test func decode_shouldRefuseNumbersBeyondSQLiteIntegers() {
        expectMalformed(RawBody(seq: UInt64(Int64.max) + 1, prev: [UInt8](repeating: 7, count: 32),
                                context: [("gd", UInt64(Int64.max))]).encoded(),
                        mentioning: "seq must be between 1 and 2^63 - 1")
        expectMalformed(RawBody(hlc: (EntryBody.wallMillisecondsMax + 1, 0)).encoded(), mentioning: "after the year 9999")
    }

    @Test func decode_shouldRefuseBadLaterEventFields() {
        let prev = [UInt8](repeating: 7, count: 32)
        func body(_ event: @escaping (inout ProtoWriter) -> Void) -> [UInt8] {
            RawBody(seq: 2, prev: prev, context: [("gd", 1)], event: event).encoded()
        }
        // License ids are <origin>-<seq>-<8 lower-case hex digits>.
        expectMalformed(body(RawBody.status(field: 6, licenseID: Self.licenseID.text.uppercased(), reason: "r")),
                        mentioning: "license id")
        expectMalformed(body(RawBody.status(field: 4, licenseID: "abc", reason: "r")), mentioning: "license id")
        let longReason = String(repeating: "r", count: LicenseEvent.reasonBytesMax + 1)
        expectMalformed(body(RawBody.status(field: 6, licenseID: Self.licenseID.text, reason: longReason)),
                        mentioning: "reason is too long")
        expectMalformed(body(RawBody.renew(licenseID: Self.licenseID.text, validUntil: "someday")), mentioning: "valid_until")
        expectMalformed(body(RawBody.amend(licenseID: Self.licenseID.text, remove: ["b", "a"])),
                        mentioning: "remove must be sorted and distinct")
        expectMalformed(body(RawBody.amend(licenseID: Self.licenseID.text, remove: ["a", "a"])),
                        mentioning: "remove must be sorted and distinct")
    }
}

/// An entry body written field by field with `ProtoWriter`, so tests can break any rule.
/// The defaults encode exactly `EntryCodecTests.issueBody()`.
struct RawBody {
    var version: UInt64 = 1
    var origin = "gd"
    var seq: UInt64 = 1
    var prev = [UInt8](repeating: 0, count: 32)
    var context: [(String, UInt64)] = []
    var hlc: (UInt64, UInt64)? = (EntryCodecTests.wall, 0)
    var keyID = Fixtures.signer.keyID
    /// Writes the fields of the `LicenseEvent` message; nil leaves the event out.
    var event: ((inout ProtoWriter) -> Void)? = RawBody.issue()
    var hlcExtra: [UInt8] = []
    var contextExtra: [UInt8] = []
    var eventExtra: [UInt8] = []

    init(version: UInt64 = 1, origin: String = "gd", seq: UInt64 = 1, prev: [UInt8] = [UInt8](repeating: 0, count: 32),
         context: [(String, UInt64)] = [], hlc: (UInt64, UInt64)? = (EntryCodecTests.wall, 0),
         keyID: String = Fixtures.signer.keyID, event: ((inout ProtoWriter) -> Void)? = RawBody.issue()) {
        self.version = version
        self.origin = origin
        self.seq = seq
        self.prev = prev
        self.context = context
        self.hlc = hlc
        self.keyID = keyID
        self.event = event
    }

    func encoded() -> [UInt8] {
        var w = ProtoWriter()
        w.uint(1, version)
        w.string(2, origin)
        w.uint(3, seq)
        w.bytes(4, prev)
        for (origin, seq) in context {
            w.bytes(5, ProtoWriter { c in
                c.string(1, origin)
                c.uint(2, seq)
            }.bytes + contextExtra, force: true)
        }
        if let hlc {
            w.bytes(6, ProtoWriter { h in
                h.uint(1, hlc.0)
                h.uint(2, hlc.1)
            }.bytes + hlcExtra, force: true)
        }
        w.string(7, keyID)
        if let event {
            w.bytes(8, ProtoWriter(event).bytes + eventExtra, force: true)
        }
        return w.bytes
    }

    static func issue(
        licenseType: String = "driving_licence", province: String = "440000",
        holderRef: [UInt8] = Fixtures.holderRef.bytes, holderMasked: String = Fixtures.resident.masked,
        attributes: [(String, String)] = [("first_issue_date", "2026-01-01"), ("licence_class", "C1")],
        validFrom: String = "2026-01-01", validUntil: String = "2032-01-01",
        extra: [UInt8] = [], attributeExtra: [UInt8] = []
    ) -> (inout ProtoWriter) -> Void {
        { event in
            event.bytes(1, ProtoWriter { m in
                m.string(1, licenseType)
                m.string(2, province)
                m.bytes(3, holderRef)
                m.string(4, holderMasked)
                for (name, value) in attributes {
                    m.bytes(5, ProtoWriter { a in
                        a.string(1, name)
                        a.string(2, value)
                    }.bytes + attributeExtra, force: true)
                }
                m.string(6, validFrom)
                m.string(7, validUntil)
            }.bytes + extra, force: true)
        }
    }

    static func amend(licenseID: String, set: [(String, String)] = [], remove: [String], reason: String = "")
        -> (inout ProtoWriter) -> Void {
        { event in
            event.message(2) { m in
                m.string(1, licenseID)
                for (name, value) in set {
                    m.message(2) { a in
                        a.string(1, name)
                        a.string(2, value)
                    }
                }
                for name in remove { m.string(3, name, force: true) }
                m.string(4, reason)
            }
        }
    }

    static func renew(licenseID: String, validUntil: String, reason: String = "") -> (inout ProtoWriter) -> Void {
        { event in
            event.message(3) { m in
                m.string(1, licenseID)
                m.string(2, validUntil)
                m.string(3, reason)
            }
        }
    }

    /// A status event: field 4 suspend, 5 reinstate, 6 revoke.
    static func status(field: Int, licenseID: String, reason: String, extra: [UInt8] = []) -> (inout ProtoWriter) -> Void {
        { event in
            event.bytes(field, ProtoWriter { m in
                m.string(1, licenseID)
                m.string(2, reason)
            }.bytes + extra, force: true)
        }
    }
}
