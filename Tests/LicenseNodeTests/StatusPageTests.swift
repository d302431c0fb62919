import Foundation
import LicenseCore
import LicenseNode
import Testing

/// The status page at the admin port's root, loaded in headless Chromium (Debian package
/// chromium): its script fetches the status with the token from the URL fragment and
/// draws the node, its peers, the network matrix, alerts and refusals.
@Suite("Status page")
struct StatusPageTests {
    /// Loads `url` in headless Chromium and returns the DOM once the page's fetches are
    /// done. Bounded: the browser is killed by PID after 60 s.
    static func renderedDOM(_ url: String) async throws -> String {
        let chromium = "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: chromium) else {
            throw TestFailure("\(chromium) is missing: apt-get install chromium (scripts/deps.sh does)")
        }
        let profile = TemporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                             "--user-data-dir=\(profile.path)", "--virtual-time-budget=5000", "--dump-dom", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                continuation.resume(returning: data)
            }
        }
        watchdog.cancel()
        withExtendedLifetime(profile) {}
        return String(decoding: data, as: UTF8.self)
    }

    @Test func thePage_showsTheNodeItsPeersTheMatrixAndTheAlerts() async throws {
        try await withRunningNode { node in
            _ = try await node.issueDrivingLicence()
            node.service.peerBoard.recordUnreachable("gd", error: "connection refused", now: FixedClock().milliseconds)
            let dom = try await Self.renderedDOM(node.url.absoluteString + "/#token=" + node.operatorToken)
            #expect(dom.contains("licensed bj · 北京市 (110000)"), "\(dom.prefix(2000))")
            #expect(dom.contains("<td>entries</td><td>1</td>"))
            // The peer, with its state and why it is down.
            #expect(dom.contains("<td>gd</td><td class=\"down\">not connected</td>"))
            #expect(dom.contains("connection refused"))
            // The matrix: this node holds bj's one entry; gd is not known to hold any.
            #expect(dom.contains("<td>bj (this node)</td><td class=\"num\">1</td>"))
            #expect(dom.contains("<td>gd</td><td class=\"num behind\">0</td>"))
            #expect(dom.contains("<ul id=\"equivocations\"><li>none</li></ul>"))
            #expect(dom.contains("<ul id=\"conflicts\"><li>none</li></ul>"))
            #expect(dom.contains("updated 20"))
            // The token left the address bar and went to the tab's session storage.
            #expect(!dom.contains(node.operatorToken))
        }
    }

    @Test func withoutAToken_thePageAsksForOne_andAClerkTokenIsRefused() async throws {
        try await withRunningNode { node in
            let bare = try await Self.renderedDOM(node.url.absoluteString + "/")
            #expect(bare.contains("an operator token is needed"))
            #expect(bare.contains("<main id=\"status\" hidden=\"\">"))
            let clerk = try await Self.renderedDOM(node.url.absoluteString + "/#token=" + node.clerkToken)
            #expect(clerk.contains("that token was refused (403)"))
        }
    }

    @Test func thePage_isServedWithoutAToken_andPutsValuesInAsTextOnly() async throws {
        try await withRunningNode { node in
            let page = try await node.call("GET", "/", token: nil)
            #expect(page.status == 200)
            #expect(String(decoding: page.body, as: UTF8.self).contains("<script src=\"/status.js\" defer></script>"))
            let script = try await node.call("GET", "/status.js", token: nil)
            #expect(script.status == 200)
            // Values go into the page as text only.
            #expect(!String(decoding: script.body, as: UTF8.self).contains("innerHTML"))
        }
    }
}
