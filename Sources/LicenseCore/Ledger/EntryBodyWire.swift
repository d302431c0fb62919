/// The fields of an encoded `lx.v1.EntryBody` as the wire carries them, before any check.
/// Two decoders fill it: `parse`, written for the bodies authors emit, and the protobuf
/// library (`init(_: LXEntryBody)`), which takes every other encoding. `EntryBody` checks it
/// once, whichever filled it, so the two cannot disagree on what a body means.
struct WireBody {
    var version: UInt32 = 0
    var origin = ""
    var seq: UInt64 = 0
    var prev: [UInt8] = []
    var context: [(origin: String, seq: UInt64)] = []
    /// True when `parse` found, on the bytes, every context origin a valid node id, the
    /// origins strictly ascending and every seq in 1...`EntryBody.seqMax`: what
    /// `EntryBody` would check component by component. False means not checked yet.
    var contextChecked = false
    var hlc: (wall: UInt64, logical: UInt32)?
    var keyID = ""
    /// Present but empty (no kind set) reads as nil, as it does for the protobuf library.
    var event: WireEvent?

    struct Issue {
        var licenseType = ""
        var province = ""
        var holderRef: [UInt8] = []
        var holderMasked = ""
        var attributes: [(name: String, value: String)] = []
        var validFrom = ""
        var validUntil = ""
    }

    struct Term {
        var province = ""
        var licenseTypes: [String] = []
    }
}

enum WireEvent {
    case issue(WireBody.Issue)
    /// The new license is nil when the field is absent.
    case transfer(licenseID: String, license: WireBody.Issue?, reason: String)
    case amend(licenseID: String, set: [(name: String, value: String)], remove: [String], reason: String)
    case renew(licenseID: String, validUntil: String, reason: String)
    case suspend(licenseID: String, reason: String)
    case reinstate(licenseID: String, reason: String)
    case revoke(licenseID: String, reason: String)
    case agreement(province: String, terms: [WireBody.Term])
}

extension WireBody {
    /// Reads a body encoded the way authors encode it: known fields only, each singular
    /// field at most once, well-formed varints, lengths and UTF-8. Returns nil for anything
    /// else (unknown or repeated singular fields, other wire types, truncation), which the
    /// protobuf library then decodes with its full rules, refusal included. Entries arrive
    /// by the hundred thousand when a node catches up; this saves most of the library's
    /// cost on each.
    static func parse(_ bytes: [UInt8]) -> WireBody? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = WireReader(buffer, from: 0, to: buffer.count)
            return reader.body()
        }
    }
}

extension EntryBody {
    /// What an encoded body says about its place in a holder's fold, read without decoding
    /// the rest (`causalPlace(ofEncoded:seenOf:)`).
    public struct CausalPlace: Equatable, Sendable {
        /// Its hybrid clock reading.
        public var clock: HybridTimestamp
        /// The seq its context names for the origin asked about (0 when none).
        public var seen: UInt64
        /// For a transfer, the license it supersedes; nil for every other event.
        public var transferred: LicenseID?

        public init(clock: HybridTimestamp, seen: UInt64, transferred: LicenseID?) {
            self.clock = clock
            self.seen = seen
            self.transferred = transferred
        }
    }

    /// What an encoded body says about its place in the causal order and among its holder's
    /// licenses, read without decoding the rest: its hybrid clock reading, the seq its context
    /// names for `origin`, and the license a transfer supersedes. Fields are skipped by their
    /// lengths; only the context's components and a transfer's license id are read. Nil when
    /// the body is not in the form authors emit (then only a full decode can say). The store
    /// uses it to order a holder's entries without decoding them.
    public static func causalPlace(ofEncoded bytes: [UInt8], seenOf origin: String) -> CausalPlace? {
        bytes.withUnsafeBufferPointer { causalPlace(ofEncoded: $0, seenOf: origin) }
    }

    /// The same, read in place (from a database row's buffer).
    public static func causalPlace(ofEncoded buffer: UnsafeBufferPointer<UInt8>, seenOf origin: String) -> CausalPlace? {
        var reader = WireReader(buffer, from: 0, to: buffer.count)
        var clock: (wall: UInt64, logical: UInt32)?
        var seen: UInt64?
        var event: LicenseID??
        while !reader.atEnd {
            guard let (number, wireType) = reader.tag() else { return nil }
            switch (number, wireType) {
            case (5, 2):
                guard var inner = reader.message(), let component = inner.component() else { return nil }
                if component.origin == origin {
                    guard seen == nil else { return nil }
                    seen = component.seq
                }
            case (6, 2):
                guard clock == nil, var inner = reader.message(), let value = inner.hlc() else { return nil }
                clock = value
            case (8, 2):
                guard event == nil, var inner = reader.message(), let transferred = inner.transferredLicense() else { return nil }
                event = transferred
            case (_, 0):
                guard reader.varint() != nil else { return nil }
            case (_, 2):
                guard reader.delimited() != nil else { return nil }
            default:
                return nil
            }
        }
        guard let clock else { return nil }
        return CausalPlace(clock: HybridTimestamp(wallMilliseconds: clock.wall, logical: clock.logical),
                           seen: seen ?? 0, transferred: event ?? nil)
    }
}

extension WireReader {
    mutating func body() -> WireBody? {
        var body = WireBody()
        // A context names every origin of the network: room for a national one up front.
        body.context.reserveCapacity(40)
        // The context is checked here, on the bytes, as it is read: each origin against the
        // one before it. A body authors emit has a sorted, valid context, and `EntryBody`
        // then skips its own check of each component.
        var contextOrdered = true
        var previousOrigin: Range<Int>?
        let complete = fields(singular: [1, 2, 3, 4, 6, 7, 8]) { reader, number, wireType in
            switch (number, wireType) {
            case (1, 0):
                guard let value = reader.varint(), value <= UInt64(UInt32.max) else { return false }
                body.version = UInt32(value)
            case (2, 2):
                guard let value = reader.string() else { return false }
                body.origin = value
            case (3, 0):
                guard let value = reader.varint() else { return false }
                body.seq = value
            case (4, 2):
                guard let value = reader.bytes() else { return false }
                body.prev = value
            case (5, 2):
                guard var component = reader.message(), let (value, origin) = component.checkedComponent() else { return false }
                if contextOrdered {
                    contextOrdered = origin.map { origin in
                        NodeID.isValid(reader.buffer[origin]) && value.seq > 0 && value.seq <= EntryBody.seqMax
                            && previousOrigin.map { reader.precedes($0, origin) } ?? true
                    } ?? false
                    previousOrigin = origin
                }
                body.context.append(value)
            case (6, 2):
                guard var hlc = reader.message(), let value = hlc.hlc() else { return false }
                body.hlc = value
            case (7, 2):
                guard let value = reader.string() else { return false }
                body.keyID = value
            case (8, 2):
                guard var event = reader.message(), let value = event.event() else { return false }
                body.event = value
            default:
                return false
            }
            return true
        }
        body.contextChecked = contextOrdered
        return complete ? body : nil
    }

    /// An `lx.v1.VersionVectorComponent`, and where its origin's bytes are: nil when the
    /// component is not in the form authors emit (the origin, then the seq, each once), and
    /// is then read by `component`, under the library's rules.
    mutating func checkedComponent() -> (component: (origin: String, seq: UInt64), origin: Range<Int>?)? {
        let start = index
        if index < end, buffer[index] == 0x0A {
            index += 1
            if let range = delimited(), index < end, buffer[index] == 0x10 {
                index += 1
                if let seq = varint(), atEnd, let origin = Self.string(buffer, range) {
                    return ((origin, seq), range)
                }
            }
        }
        index = start
        return component().map { ($0, nil) }
    }

    /// True when the bytes at `a` sort strictly before those at `b`, byte by byte: for the
    /// ASCII of node ids, the order of `String`'s `<`.
    func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        let common = min(a.count, b.count)
        for offset in 0..<common where buffer[a.lowerBound + offset] != buffer[b.lowerBound + offset] {
            return buffer[a.lowerBound + offset] < buffer[b.lowerBound + offset]
        }
        return a.count < b.count
    }

    mutating func hlc() -> (wall: UInt64, logical: UInt32)? {
        var wall: UInt64 = 0, logical: UInt32 = 0
        let complete = fields(singular: [1, 2]) { reader, number, wireType in
            switch (number, wireType) {
            case (1, 0):
                guard let value = reader.varint() else { return false }
                wall = value
            case (2, 0):
                guard let value = reader.varint(), value <= UInt64(UInt32.max) else { return false }
                logical = UInt32(value)
            default:
                return false
            }
            return true
        }
        return complete ? (wall, logical) : nil
    }

    /// The event's kind. An empty event is `.some(nil)`; nil gives up.
    mutating func event() -> WireEvent?? {
        var event: WireEvent?
        // The kinds form one oneof: a second one, which the library would let replace the
        // first, gives up here.
        var kinds = 0
        let complete = fields(singular: [1, 2, 3, 4, 5, 6, 7, 8]) { reader, number, wireType in
            guard wireType == 2, var inner = reader.message() else { return false }
            kinds += 1
            let parsed: WireEvent?
            switch number {
            case 1: parsed = inner.issue().map { .issue($0) }
            case 2: parsed = inner.amend()
            case 3: parsed = inner.renew()
            case 4: parsed = inner.stringPair().map { .suspend(licenseID: $0.0, reason: $0.1) }
            case 5: parsed = inner.stringPair().map { .reinstate(licenseID: $0.0, reason: $0.1) }
            case 6: parsed = inner.stringPair().map { .revoke(licenseID: $0.0, reason: $0.1) }
            case 7: parsed = inner.agreement()
            case 8: parsed = inner.transfer()
            default: parsed = nil
            }
            event = parsed
            return parsed != nil
        }
        guard complete, kinds <= 1 else { return nil }
        return .some(event)
    }

    mutating func issue() -> WireBody.Issue? {
        var issue = WireBody.Issue()
        let complete = fields(singular: [1, 2, 3, 4, 6, 7]) { reader, number, wireType in
            guard wireType == 2 else { return false }
            switch number {
            case 1: guard let value = reader.string() else { return false }; issue.licenseType = value
            case 2: guard let value = reader.string() else { return false }; issue.province = value
            case 3: guard let value = reader.bytes() else { return false }; issue.holderRef = value
            case 4: guard let value = reader.string() else { return false }; issue.holderMasked = value
            case 5: guard var inner = reader.message(), let value = inner.stringPair() else { return false }; issue.attributes.append(value)
            case 6: guard let value = reader.string() else { return false }; issue.validFrom = value
            case 7: guard let value = reader.string() else { return false }; issue.validUntil = value
            default: return false
            }
            return true
        }
        return complete ? issue : nil
    }

    /// A message of two strings, fields 1 and 2: an attribute (name, value) or a status
    /// change (license id, reason).
    mutating func stringPair() -> (String, String)? {
        var first = "", second = ""
        let complete = fields(singular: [1, 2]) { reader, number, wireType in
            guard wireType == 2, let text = reader.string() else { return false }
            switch number {
            case 1: first = text
            case 2: second = text
            default: return false
            }
            return true
        }
        return complete ? (first, second) : nil
    }

    mutating func transfer() -> WireEvent? {
        var licenseID = "", license: WireBody.Issue?, reason = ""
        let complete = fields(singular: [1, 2, 3]) { reader, number, wireType in
            guard wireType == 2 else { return false }
            switch number {
            case 1: guard let value = reader.string() else { return false }; licenseID = value
            case 2: guard var inner = reader.message(), let value = inner.issue() else { return false }; license = value
            case 3: guard let value = reader.string() else { return false }; reason = value
            default: return false
            }
            return true
        }
        return complete ? .transfer(licenseID: licenseID, license: license, reason: reason) : nil
    }

    /// Of an `lx.v1.LicenseEvent`, the license a transfer supersedes: `.some(nil)` for any
    /// other event, nil when the event is not in the form authors emit or the id is not valid
    /// (the full decode refuses that). The other fields are skipped by their lengths.
    mutating func transferredLicense() -> LicenseID?? {
        var transferred: LicenseID?
        var kinds = 0
        let complete = fields(singular: [1, 2, 3, 4, 5, 6, 7, 8]) { reader, number, wireType in
            guard wireType == 2, (1...8).contains(number) else { return false }
            kinds += 1
            guard number == 8 else { return reader.delimited() != nil }
            guard var inner = reader.message() else { return false }
            var licenseID: String?
            let read = inner.fields(singular: [1, 2, 3]) { reader, number, wireType in
                guard wireType == 2, (1...3).contains(number) else { return false }
                guard number == 1 else { return reader.delimited() != nil }
                licenseID = reader.string()
                return licenseID != nil
            }
            guard read, let licenseID, let id = LicenseID(licenseID) else { return false }
            transferred = id
            return true
        }
        guard complete, kinds <= 1 else { return nil }
        return .some(transferred)
    }

    mutating func amend() -> WireEvent? {
        var licenseID = "", set: [(name: String, value: String)] = [], remove: [String] = [], reason = ""
        let complete = fields(singular: [1, 4]) { reader, number, wireType in
            guard wireType == 2 else { return false }
            switch number {
            case 1: guard let value = reader.string() else { return false }; licenseID = value
            case 2: guard var inner = reader.message(), let value = inner.stringPair() else { return false }; set.append(value)
            case 3: guard let value = reader.string() else { return false }; remove.append(value)
            case 4: guard let value = reader.string() else { return false }; reason = value
            default: return false
            }
            return true
        }
        return complete ? .amend(licenseID: licenseID, set: set, remove: remove, reason: reason) : nil
    }

    mutating func renew() -> WireEvent? {
        var licenseID = "", validUntil = "", reason = ""
        let complete = fields(singular: [1, 2, 3]) { reader, number, wireType in
            guard wireType == 2, let text = reader.string() else { return false }
            switch number {
            case 1: licenseID = text
            case 2: validUntil = text
            case 3: reason = text
            default: return false
            }
            return true
        }
        return complete ? .renew(licenseID: licenseID, validUntil: validUntil, reason: reason) : nil
    }

    mutating func agreement() -> WireEvent? {
        var province = "", terms: [WireBody.Term] = []
        let complete = fields(singular: [1]) { reader, number, wireType in
            guard wireType == 2 else { return false }
            switch number {
            case 1: guard let value = reader.string() else { return false }; province = value
            case 2: guard var inner = reader.message(), let value = inner.term() else { return false }; terms.append(value)
            default: return false
            }
            return true
        }
        return complete ? .agreement(province: province, terms: terms) : nil
    }

    mutating func term() -> WireBody.Term? {
        var term = WireBody.Term()
        let complete = fields(singular: [1]) { reader, number, wireType in
            guard wireType == 2, let text = reader.string() else { return false }
            switch number {
            case 1: term.province = text
            case 2: term.licenseTypes.append(text)
            default: return false
            }
            return true
        }
        return complete ? term : nil
    }
}

extension WireBody {
    /// What the protobuf library decoded, for a body `parse` gave up on.
    init(_ m: LXEntryBody) {
        version = m.version
        origin = m.origin
        seq = m.seq
        prev = [UInt8](m.prev)
        context = m.context.map { ($0.origin, $0.seq) }
        hlc = m.hasHlc ? (m.hlc.wallMs, m.hlc.logical) : nil
        keyID = m.keyID
        event = m.hasEvent ? m.event.kind.map(WireEvent.init) : nil
    }
}

extension WireBody.Issue {
    init(_ m: LXIssueEvent) {
        self.init(licenseType: m.licenseType, province: m.province, holderRef: [UInt8](m.holderRef), holderMasked: m.holderMasked,
                  attributes: m.attributes.map { ($0.name, $0.value) }, validFrom: m.validFrom, validUntil: m.validUntil)
    }
}

extension WireEvent {
    init(_ kind: LXLicenseEvent.OneOf_Kind) {
        switch kind {
        case let .issue(m): self = .issue(WireBody.Issue(m))
        case let .transfer(m): self = .transfer(licenseID: m.licenseID, license: m.hasLicense ? WireBody.Issue(m.license) : nil, reason: m.reason)
        case let .amend(m): self = .amend(licenseID: m.licenseID, set: m.set.map { ($0.name, $0.value) }, remove: m.remove, reason: m.reason)
        case let .renew(m): self = .renew(licenseID: m.licenseID, validUntil: m.validUntil, reason: m.reason)
        case let .suspend(m): self = .suspend(licenseID: m.licenseID, reason: m.reason)
        case let .reinstate(m): self = .reinstate(licenseID: m.licenseID, reason: m.reason)
        case let .revoke(m): self = .revoke(licenseID: m.licenseID, reason: m.reason)
        case let .agreement(m): self = .agreement(province: m.province, terms: m.terms.map { WireBody.Term(province: $0.province, licenseTypes: $0.licenseTypes) })
        }
    }
}
