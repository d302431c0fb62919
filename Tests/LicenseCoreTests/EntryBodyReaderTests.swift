@_spi(Testing) import LicenseCore
import Testing

/// The entry decoder's own reader (for the bodies authors emit) against the protobuf
/// library: on every input, valid or broken, both give the same body or the same error.
@Suite struct EntryBodyReaderTests {
    /// Every kind of event, transfers and agreements included.
    static func bodies() -> [EntryBody] {
        let transfer = LicenseEvent.transfer(.init(licenseID: EntryCodecTests.licenseID, license: Fixtures.drivingLicenceIssue(),
                                                   reason: "moved to Beijing"))
        let agreement = LicenseEvent.agreement(RecognitionAgreement(
            province: "440000", terms: ["*": .all, "110000": .only(["business_license", "driving_licence"]), "310000": .only([])]))
        let extra = [transfer, agreement].map { event in
            EntryBody(origin: "gd", seq: 3, prev: try! EntryID(bytes: [UInt8](repeating: 7, count: 32)),
                      context: VersionVector(["gd": 2, "bj": 5]), hlc: Fixtures.hlc(EntryCodecTests.wall, 1),
                      keyID: Fixtures.signer.keyID, event: event)
        }
        return EntryCodecTests.bodies() + extra + [EntryCodecTests.issueBody()]
    }

    static func decode(_ bytes: [UInt8]) -> Result<EntryBody, EntryError> {
        Result { () throws(EntryError) in try EntryBody(decoding: bytes) }
    }

    static func reference(_ bytes: [UInt8]) -> Result<EntryBody, EntryError> {
        Result { () throws(EntryError) in try EntryBody(referenceDecoding: bytes) }
    }

    /// The license a decoded body's transfer supersedes, if it is a transfer.
    static func transferred(_ body: EntryBody) -> LicenseID? {
        if case let .transfer(transfer) = body.event { transfer.licenseID } else { nil }
    }

    @Test func everyAuthoredBody_isReadWithoutTheLibrary_andDecodesAsTheLibraryDecodesIt() throws {
        for body in Self.bodies() {
            let bytes = body.encoded()
            #expect(EntryBody.isReadWithoutLibrary(bytes), "\(body.event.kind)")
            #expect(EntryBody.isContextCheckedWhileRead(bytes), "\(body.event.kind)")
            #expect(try EntryBody(decoding: bytes) == body)
            #expect(Self.decode(bytes) == Self.reference(bytes))
            for origin in ["gd", "bj", "zz"] {
                let place = EntryBody.causalPlace(ofEncoded: bytes, seenOf: origin)
                #expect(place?.clock == body.hlc && place?.seen == body.context[origin])
                #expect(place?.transferred == Self.transferred(body))
            }
        }
    }

    /// Text with a NUL anywhere in a body is refused, by the reader and the library alike:
    /// a store would cut it there (docs/PROTOCOL.md).
    @Test func aNULInAnyText_isMalformed() {
        let id = EntryCodecTests.licenseID
        let nul = "\u{0}"
        func changed(_ change: (inout LicenseEvent.Issue) -> Void) -> LicenseEvent.Issue {
            var copy = Fixtures.drivingLicenceIssue()
            change(&copy)
            return copy
        }
        let cases: [(LicenseEvent, String)] = [
            (.issue(changed { $0.attributes["licence_class"] = "C1" + nul }), "issue: attribute 'licence_class'"),
            (.issue(changed { $0.attributes["a" + nul] = "x" }), "issue: an attribute name"),
            (.issue(changed { $0.holderMasked = "11****" + nul }), "issue: the masked holder"),
            (.issue(changed { $0.licenseType = "driving" + nul }), "issue: the license type"),
            (.amend(.init(licenseID: id, set: [:], remove: ["x" + nul], reason: "")), "amend: a removed attribute name"),
            (.suspend(.init(licenseID: id, reason: "court" + nul + "order")), "reason"),
            (.transfer(.init(licenseID: id, license: Fixtures.drivingLicenceIssue(), reason: nul)), "reason"),
        ]
        for (event, field) in cases {
            let body = EntryBody(origin: "gd", seq: 3, prev: try! EntryID(bytes: [UInt8](repeating: 7, count: 32)),
                                 context: VersionVector(["gd": 2]), hlc: Fixtures.hlc(EntryCodecTests.wall, 1),
                                 keyID: Fixtures.signer.keyID, event: event)
            let bytes = body.encoded()
            #expect(Self.decode(bytes) == .failure(.malformed("\(field) contains a NUL character")), "\(field)")
            #expect(Self.reference(bytes) == Self.decode(bytes), "\(field)")
        }
    }

    /// Flipped, dropped, inserted and repeated bytes: whatever the library makes of the
    /// result (a refusal mostly, now and then another valid body), the decoder makes too.
    @Test func brokenBodies_decodeAsTheLibraryDecodesThem() {
        var random = SplitMix(seed: 11)
        var readWithoutLibrary = 0, accepted = 0
        for body in Self.bodies() {
            let bytes = body.encoded()
            for _ in 0..<1_500 {
                var broken = bytes
                switch random.below(5) {
                case 0:
                    broken[random.below(broken.count)] ^= UInt8(1 << random.below(8))
                case 1:
                    broken.removeSubrange(random.below(broken.count)..<broken.count)
                case 2:
                    broken.insert(UInt8(random.below(256)), at: random.below(broken.count + 1))
                case 3:
                    // A slice repeated: fields seen twice, which the library merges.
                    let start = random.below(broken.count)
                    let slice = broken[start..<min(broken.count, start + 1 + random.below(24))]
                    broken.insert(contentsOf: slice, at: random.below(broken.count + 1))
                default:
                    broken[random.below(broken.count)] = UInt8(random.below(256))
                }
                let result = Self.decode(broken)
                #expect(result == Self.reference(broken), "body \(body.event.kind), bytes \(Hex.encode(broken))")
                if EntryBody.isReadWithoutLibrary(broken) { readWithoutLibrary += 1 }
                if case .success = result { accepted += 1 }
                // The causal place read alone is the decoded body's, or nothing.
                if case let .success(decoded) = result {
                    for origin in decoded.context.sorted.map(\.origin).prefix(3) + [decoded.origin] {
                        guard let place = EntryBody.causalPlace(ofEncoded: broken, seenOf: origin) else { continue }
                        #expect(place.clock == decoded.hlc && place.seen == decoded.context[origin], "bytes \(Hex.encode(broken))")
                        #expect(place.transferred == Self.transferred(decoded), "bytes \(Hex.encode(broken))")
                    }
                }
            }
        }
        // The mutations reach both readers and both outcomes.
        #expect(readWithoutLibrary > 1_000)
        #expect(accepted > 100)
    }

    /// The reader checks a context on its bytes when each component is written origin
    /// first; a component written seq first is read all the same, and the context is then
    /// checked component by component. Either way, the library's result.
    @Test func contextComponentsWrittenSeqFirst_decodeAsTheLibraryDecodesThem() throws {
        func seqFirst(_ bytes: [UInt8], origin: String, seq: UInt8) -> [UInt8] {
            let name = Array(origin.utf8)
            let canonical: [UInt8] = [0x0A, UInt8(name.count)] + name + [0x10, seq]
            guard let start = (0...bytes.count - canonical.count).first(where: { bytes[$0..<$0 + canonical.count].elementsEqual(canonical) })
            else {
                Issue.record("component (\(origin), \(seq)) not found")
                return bytes
            }
            var out = bytes
            out.replaceSubrange(start..<start + canonical.count, with: [0x10, seq, 0x0A, UInt8(name.count)] + name)
            return out
        }
        let body = EntryBody(origin: "gd", seq: 3, prev: try EntryID(bytes: [UInt8](repeating: 7, count: 32)),
                             context: VersionVector(["bj": 5, "gd": 2]), hlc: Fixtures.hlc(EntryCodecTests.wall, 1),
                             keyID: Fixtures.signer.keyID, event: .issue(Fixtures.drivingLicenceIssue()))
        let valid = seqFirst(body.encoded(), origin: "bj", seq: 5)
        #expect(valid != body.encoded())
        #expect(EntryBody.isReadWithoutLibrary(valid))
        #expect(!EntryBody.isContextCheckedWhileRead(valid))
        #expect(try EntryBody(decoding: valid) == body)
        #expect(Self.decode(valid) == Self.reference(valid))

        let prev = [UInt8](repeating: 7, count: 32)
        for context: [(String, UInt64)] in [[("gd", 1), ("bj", 5)], [("bj", 5), ("bj", 5), ("gd", 1)], [("bj", 5), ("gd", 1), ("z", 0)]] {
            var bytes = RawBody(seq: 2, prev: prev, context: context).encoded()
            if context.contains(where: { $0.1 == 5 }) { bytes = seqFirst(bytes, origin: "bj", seq: 5) }
            #expect(Self.decode(bytes) == .failure(.malformed("context must list distinct valid origins with positive seqs, sorted by origin")))
            #expect(Self.decode(bytes) == Self.reference(bytes))
        }
    }

    @Test func aFieldRepeated_isLeftToTheLibrary_whichKeepsTheLastValue() throws {
        let body = EntryCodecTests.issueBody()
        // Field 3 (seq), varint 1, appended after the canonical fields: the same value again.
        let bytes = body.encoded() + [0x18, 0x01]
        #expect(!EntryBody.isReadWithoutLibrary(bytes))
        #expect(try EntryBody(decoding: bytes) == body)
    }

    /// Tags padded with continuation bytes: the library reads tags of up to five bytes and
    /// refuses longer ones, which a plain varint reader would take.
    @Test func paddedTags_decodeAsTheLibraryDecodesThem() throws {
        let bytes = EntryCodecTests.issueBody().encoded()
        #expect(bytes.first == 0x08) // field 1 (version), varint
        for padded: [UInt8] in [[0x88, 0x00], [0x88, 0x80, 0x00], [0x88, 0x80, 0x80, 0x80, 0x00],
                                [0x88, 0x80, 0x80, 0x80, 0x80, 0x00], [0x88, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]] {
            let broken = padded + bytes.dropFirst()
            #expect(Self.decode(broken) == Self.reference(broken), "tag \(Hex.encode(padded))")
        }
        // Six bytes and more: refused, as the library refuses them.
        let sixBytes: [UInt8] = [0x88, 0x80, 0x80, 0x80, 0x80, 0x00] + bytes.dropFirst()
        guard case .failure = Self.decode(sixBytes) else {
            Issue.record("a six-byte tag was accepted")
            return
        }
    }

    @Test func unknownFieldsAndBadText_areRefusedAsTheLibraryRefusesThem() {
        let bytes = EntryCodecTests.issueBody().encoded()
        for broken in [bytes + [0xF8, 0x01, 0x00], // field 31, varint 0
                       bytes + [0x3A, 0x02, 0xC3, 0x28]] { // key_id again, invalid UTF-8
            #expect(!EntryBody.isReadWithoutLibrary(broken))
            guard case .failure = Self.decode(broken) else {
                Issue.record("accepted \(Hex.encode(broken))")
                continue
            }
            #expect(Self.decode(broken) == Self.reference(broken))
        }
    }
}

extension SplitMix {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
