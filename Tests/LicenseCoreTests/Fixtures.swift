import LicenseCore

/// Fixed keys, dates and helpers shared by the core tests. Everything is a constant:
/// no clock, no randomness, so every run computes the same bytes.
enum Fixtures {
    /// The network's "today" in most tests.
    static let today = CivilDate(year: 2026, month: 3, day: 1)!

    /// Ed25519 seed 0x00, 0x01, ..., 0x1f.
    static let seed: [UInt8] = Array(0...31)
    static let key = try! SigningKey(seed: seed)
    static let signer = IssuerSigner(origin: "gd", key: key)

    /// A second, unrelated key (seed 0x20 ... 0x3f).
    static let otherKey = try! SigningKey(seed: Array(32...63))

    /// Holder key 0x40, 0x41, ..., 0x5f.
    static let holderKey = try! HolderKey(bytes: Array(64...95))

    /// A valid GB 11643 number (Beijing, born 1949-12-31, check character X).
    static let idNumber = "11010519491231002X"
    static let resident = try! ResidentID(idNumber, today: today)
    static let holderRef = HolderRef(id: resident, key: holderKey)

    static let catalog = try! Catalog.bundled()

    static func date(_ text: String) -> CivilDate {
        CivilDate(iso: text)!
    }

    static func hlc(_ wall: UInt64, _ logical: UInt32 = 0) -> HybridTimestamp {
        HybridTimestamp(wallMilliseconds: wall, logical: logical)
    }

    /// A driving licence issue, valid 2026-01-01 ... 2032-01-01.
    static func drivingLicenceIssue(holder: HolderRef = holderRef, masked: String = resident.masked) -> LicenseEvent.Issue {
        LicenseEvent.Issue(
            licenseType: "driving_licence", province: "440000", holderRef: holder, holderMasked: masked,
            attributes: ["licence_class": "C1", "first_issue_date": "2026-01-01"],
            validFrom: date("2026-01-01"), validUntil: date("2032-01-01"))
    }

    /// A professional qualification issue, which never expires.
    static func qualificationIssue() -> LicenseEvent.Issue {
        LicenseEvent.Issue(
            licenseType: "professional_qualification", province: "440000", holderRef: holderRef,
            holderMasked: resident.masked,
            attributes: ["qualification": "electrician", "level": "3", "certificate_number": "Q-1"],
            validFrom: date("2026-01-01"), validUntil: nil)
    }
}

/// Writes a well-formed chain of entries for one origin: seq, prev and causal context
/// are filled in the way a node's store fills them.
struct ChainWriter {
    let origin: String
    let keyID: String
    let key: SigningKey
    private(set) var seq: UInt64 = 0
    private(set) var prev = EntryID.zero
    private(set) var context = VersionVector()

    init(origin: String, key: SigningKey) {
        self.origin = origin
        self.key = key
        self.keyID = IssuerKeyID.derive(origin: origin, publicKey: key.publicKey)
    }

    init(_ signer: IssuerSigner) {
        self.init(origin: signer.origin, key: signer.key)
    }

    mutating func append(_ event: LicenseEvent, hlc: HybridTimestamp) -> Entry {
        seq += 1
        let body = EntryBody(origin: origin, seq: seq, prev: prev, context: context, hlc: hlc, keyID: keyID, event: event)
        let entry = Entry.sign(body, with: key)
        prev = entry.id
        context[origin] = seq
        return entry
    }

    /// Makes the next entry's context cover what `other` has written.
    mutating func observe(_ other: ChainWriter) {
        context = context.merging(other.context)
    }
}
