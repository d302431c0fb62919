import LicenseCore
import Testing

@Suite struct HolderRefTests {
    @Test func init_shouldGiveSameRefForSameNumberAndKey() throws {
        let a = try ResidentID("11010519491231002X", today: Fixtures.today)
        // Lowercase x normalises to the same number, hence the same ref.
        let b = try ResidentID("11010519491231002x", today: Fixtures.today)
        #expect(HolderRef(id: a, key: Fixtures.holderKey) == HolderRef(id: b, key: Fixtures.holderKey))
    }

    @Test func init_shouldGiveDifferentRefForDifferentKey() throws {
        let id = try ResidentID("11010519491231002X", today: Fixtures.today)
        let otherKey = try HolderKey(bytes: [UInt8](repeating: 0x40, count: 32))
        #expect(HolderRef(id: id, key: Fixtures.holderKey) != HolderRef(id: id, key: otherKey))
    }

    @Test func init_shouldGiveDifferentRefForDifferentNumber() throws {
        let a = try ResidentID("11010519491231002X", today: Fixtures.today)
        let b = try ResidentID("440106200002294519", today: Fixtures.today)
        #expect(HolderRef(id: a, key: Fixtures.holderKey) != HolderRef(id: b, key: Fixtures.holderKey))
    }

    @Test func init_shouldBeKeyedDomainSeparatedBlake2b() throws {
        let id = try ResidentID("11010519491231002X", today: Fixtures.today)
        let expected = Sodium.blake2b256(Array("lx-holder-v1".utf8), Array("11010519491231002X".utf8),
                                         key: Fixtures.holderKey.bytes)
        let ref = HolderRef(id: id, key: Fixtures.holderKey)
        #expect(ref.bytes == expected)
        #expect(ref.bytes.count == HolderRef.byteCount)
        // The unkeyed hash of the number must not be the ref, or it could be reversed by enumeration.
        #expect(ref.bytes != Sodium.blake2b256(Array("lx-holder-v1".utf8), Array("11010519491231002X".utf8)))
    }

    @Test func description_shouldBeHexAndNotContainTheNumber() throws {
        let ref = Fixtures.holderRef
        #expect(ref.description == Hex.encode(ref.bytes))
        #expect(ref.description.count == 64)
        #expect(!ref.description.contains("19491231"))
    }

    @Test func init_shouldRefuseWrongLengths() {
        #expect(throws: CryptoError.badLength(what: "holder ref", expected: 32, actual: 31)) {
            try HolderRef(bytes: [UInt8](repeating: 0, count: 31))
        }
        #expect(throws: CryptoError.badLength(what: "holder key", expected: 32, actual: 33)) {
            try HolderKey(bytes: [UInt8](repeating: 0, count: 33))
        }
    }
}
