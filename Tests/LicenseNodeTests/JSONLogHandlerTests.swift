import Foundation
@testable import LicenseNode
import Logging
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
    }

    @Test func eachEventIsOneJSONObjectWithLevelMessageAndMetadata() throws {
        let lines = Lines()
        var handler = JSONLogHandler(label: "licensed") { line in lines.all.withLock { $0.append(line) } }
        handler.logLevel = .info
        handler[metadataKey: "node.id"] = "gd"
        var logger = Logger(label: "licensed") { _ in handler }
        logger.logLevel = .info
        logger.debug("not at info")
        logger.warning("refused entry", metadata: ["reason": "bad_signature", "peer.id": "bj"])
        let written = lines.all.withLock { $0 }
        #expect(written.count == 1)
        #expect(!written[0].contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(written[0].utf8)) as? [String: String])
        #expect(object["level"] == "warning")
        #expect(object["message"] == "refused entry")
        #expect(object["logger"] == "licensed")
        #expect(object["reason"] == "bad_signature" && object["peer.id"] == "bj" && object["node.id"] == "gd")
        #expect(object["time"]?.hasSuffix("Z") == true)
    }
}
