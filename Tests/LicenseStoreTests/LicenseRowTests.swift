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

    /// The column's own reader and Foundation's JSON parser read every text alike: what the
    /// writer makes, and JSON it never makes (white space, other escapes), which the reader
    /// leaves to Foundation.
    @Test func attributes_readAsFoundationReadsThem() throws {
        let texts = [
            "{}", #"{"a":"b"}"#, #"{"a":"b","c":"d"}"#, #"{"q":"\"\\\n\r\t\u0001\u001f"}"#,
            #"{"名":"张三","e":"🚗"}"#, #"{ "a" : "b" }"#, #"{"a":"\/"}"#, #"{"a":"\u00e9\u4e2d"}"#,
            #"{"a":"\ud83d\ude97"}"#, #"{"a":"b","a":"c"}"#, #"{"a":"\b\f"}"#,
        ]
        for text in texts {
            let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
            #expect(try LicenseRow.decodeAttributes(text) == foundation, "\(text)")
        }
        // Broken or foreign texts: refused by both, or (where Foundation is lenient) read alike.
        for text in ["", "{", #"{"a":}"#, #"{"a":"b",}"#, #"{"a":1}"#, #"["a"]"#, #"{"a":"b"}x"#, #"{"a":"\u12"}"#] {
            let foundation = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: String]
            #expect((try? LicenseRow.decodeAttributes(text)) == foundation, "\(text)")
        }
        #expect(throws: StoreError.self) { try LicenseRow.decodeAttributes(#"{"a":1}"#) }
    }

    @Test func attributes_emptyIsAnEmptyObject() throws {
        #expect(LicenseRow.encodeAttributes([:]) == "{}")
        #expect(try LicenseRow.decodeAttributes("{}") == [:])
    }
}
