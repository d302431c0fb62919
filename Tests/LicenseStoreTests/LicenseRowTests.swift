import Foundation
@testable import LicenseStore
import Testing

/// The attributes column: JSON with sorted keys, written by hand.
@Suite struct LicenseRowTests {
    @Test func attributes_roundTripThroughTheColumn_withEveryKindOfCharacter() throws {
        let attributes = [
            "vehicle_class": "C1",
            "quote\"d": "back\\slash",
            "controls": "line\nfeed\r\ttab\u{01}\u{1f}",
            "name": "张三",
            "emoji": "🚗 ok",
            "": "",
        ]
        let text = LicenseRow.encodeAttributes(attributes)
        #expect(try LicenseRow.decodeAttributes(text) == attributes)
        #expect(text.hasPrefix(#"{"":"","controls":"line\nfeed\r\ttab\u0001\u001f","emoji":"🚗 ok","name":"张三","#))
    }

    @Test func attributes_emptyIsAnEmptyObject() throws {
        #expect(LicenseRow.encodeAttributes([:]) == "{}")
        #expect(try LicenseRow.decodeAttributes("{}") == [:])
    }
}
