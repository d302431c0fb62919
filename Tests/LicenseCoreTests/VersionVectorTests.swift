import LicenseCore
import Testing

@Suite struct VersionVectorTests {
    @Test func subscript_shouldReadMissingOriginAsZero() {
        let vv = VersionVector(["gd": 3])
        #expect(vv["gd"] == 3)
        #expect(vv["bj"] == 0)
    }

    @Test func init_shouldDropZeroComponents() {
        let vv = VersionVector(["gd": 3, "bj": 0])
        #expect(vv.seqs == ["gd": 3])
        #expect(vv == VersionVector(["gd": 3]))
        #expect(VersionVector(["bj": 0]) == VersionVector())
    }

    @Test func setToZero_shouldRemoveTheComponent() {
        var vv = VersionVector(["gd": 3, "bj": 1])
        vv["bj"] = 0
        #expect(vv.seqs == ["gd": 3])
        #expect(vv == VersionVector(["gd": 3]))
        #expect(vv.hashValue == VersionVector(["gd": 3]).hashValue)
    }

    @Test func forEachAhead_shouldVisitWhatIsAboveBothOthersInOrder() {
        let mine = VersionVector(["ah": 4, "bj": 2, "gd": 9, "sh": 1, "zj": 5])
        let peer = VersionVector(["ah": 4, "bj": 1, "cq": 7, "gd": 3])
        let sent = VersionVector(["bj": 2, "gd": 6, "xz": 2])
        var seen: [String] = []
        mine.forEachAhead(of: peer, sent) { origin, seq, behind in
            seen.append("\(origin):\(seq)>\(behind)")
            return true
        }
        #expect(seen == ["gd:9>6", "sh:1>0", "zj:5>0"])
    }

    @Test func forEachAhead_shouldStopWhenTold() {
        let mine = VersionVector(["ah": 1, "bj": 1, "gd": 1])
        var seen: [String] = []
        mine.forEachAhead(of: VersionVector(), VersionVector()) { origin, _, _ in
            seen.append(origin)
            return origin < "bj"
        }
        #expect(seen == ["ah", "bj"])
    }

    /// The walk agrees with a lookup per origin, over vectors drawn from a fixed seed.
    @Test func forEachAhead_shouldAgreeWithLookups() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        let origins = (0..<12).map { "o\($0)" }
        func vector() -> VersionVector {
            VersionVector(Dictionary(uniqueKeysWithValues: origins.map { ($0, next(3) == 0 ? 0 : next(6)) }))
        }
        for _ in 0..<500 {
            let (mine, a, b) = (vector(), vector(), vector())
            var walked: [String: UInt64] = [:]
            mine.forEachAhead(of: a, b) { origin, seq, behind in
                #expect(seq == mine[origin])
                walked[origin] = behind
                return true
            }
            let looked = Dictionary(uniqueKeysWithValues: mine.sorted.filter { $0.seq > max(a[$0.origin], b[$0.origin]) }
                .map { ($0.origin, max(a[$0.origin], b[$0.origin])) })
            #expect(walked == looked)
        }
    }

    @Test func covers_shouldHoldUpToTheComponent() {
        let vv = VersionVector(["gd": 3])
        #expect(vv.covers(origin: "gd", seq: 1))
        #expect(vv.covers(origin: "gd", seq: 3))
        #expect(!vv.covers(origin: "gd", seq: 4))
        #expect(!vv.covers(origin: "bj", seq: 1))
        #expect(vv.covers(origin: "bj", seq: 0))
    }

    @Test func dominates_shouldCompareComponentWise() {
        let a = VersionVector(["gd": 3, "bj": 2])
        let b = VersionVector(["gd": 2, "bj": 2])
        let c = VersionVector(["gd": 1, "sh": 1])
        #expect(a.dominates(b))
        #expect(!b.dominates(a))
        #expect(a.dominates(a))
        #expect(a.dominates(VersionVector()))
        #expect(!VersionVector().dominates(a))
        // Concurrent vectors: neither dominates.
        #expect(!a.dominates(c))
        #expect(!c.dominates(a))
    }

    @Test func merging_shouldTakeComponentWiseMaximum() {
        let a = VersionVector(["gd": 3, "bj": 1])
        let b = VersionVector(["gd": 2, "bj": 4, "sh": 7])
        let merged = a.merging(b)
        #expect(merged == VersionVector(["gd": 3, "bj": 4, "sh": 7]))
        #expect(merged == b.merging(a))
        #expect(merged.dominates(a) && merged.dominates(b))
        #expect(a.merging(a) == a)
        #expect(a.merging(VersionVector()) == a)
        #expect(a.merging(b).merging(VersionVector(["zj": 1])) == a.merging(b.merging(VersionVector(["zj": 1]))))
    }

    @Test func sorted_shouldListComponentsByOrigin() {
        var vv = VersionVector()
        vv["zj"] = 1
        vv["ah"] = 2
        vv["gd"] = 3
        vv["bj"] = 4
        #expect(vv.sorted.map(\.origin) == ["ah", "bj", "gd", "zj"])
        #expect(vv.sorted.map(\.seq) == [2, 4, 3, 1])
    }

    /// The same components in any order of writes make equal vectors with equal hashes; a
    /// write of zero removes a component wherever it sits.
    @Test func writes_inAnyOrder_makeTheSameVector() {
        let origins = ["ah", "bj", "gd", "sh", "xz", "zj"]
        var forwards = VersionVector(), backwards = VersionVector(), shuffled = VersionVector()
        for (seq, origin) in origins.enumerated() { forwards[origin] = UInt64(seq + 1) }
        for (seq, origin) in origins.enumerated().reversed() { backwards[origin] = UInt64(seq + 1) }
        for index in [3, 0, 5, 1, 4, 2] { shuffled[origins[index]] = UInt64(index + 1) }
        #expect(forwards == backwards && backwards == shuffled)
        #expect(forwards.hashValue == shuffled.hashValue)
        #expect(shuffled.sorted.map(\.origin) == origins)
        #expect(forwards.seqs == Dictionary(uniqueKeysWithValues: origins.enumerated().map { ($1, UInt64($0 + 1)) }))
        shuffled["gd"] = 0
        shuffled["ah"] = 0
        shuffled["zz"] = 0
        #expect(shuffled.sorted.map(\.origin) == ["bj", "sh", "xz", "zj"])
        #expect(shuffled != forwards)
    }

    /// Merging and domination walk both vectors' components: interleaved, disjoint, and
    /// one empty.
    @Test func merging_andDominates_overInterleavedComponents() {
        let a = VersionVector(["ah": 5, "gd": 1, "zj": 9])
        let b = VersionVector(["bj": 2, "gd": 4, "xz": 1])
        #expect(a.merging(b) == VersionVector(["ah": 5, "bj": 2, "gd": 4, "xz": 1, "zj": 9]))
        #expect(a.merging(b).sorted.map(\.origin) == ["ah", "bj", "gd", "xz", "zj"])
        #expect(!a.dominates(b) && !b.dominates(a))
        #expect(a.merging(b).dominates(a) && a.merging(b).dominates(b))
        #expect(VersionVector(["ah": 5, "gd": 1]).dominates(VersionVector(["gd": 1])))
        #expect(!VersionVector(["ah": 5, "gd": 1]).dominates(VersionVector(["bj": 1])))
        #expect(VersionVector().merging(b) == b && b.merging(VersionVector()) == b)
    }

    @Test func total_shouldSumComponents() {
        #expect(VersionVector(["gd": 3, "bj": 4]).total == 7)
        #expect(VersionVector().total == 0)
    }

    @Test func description_shouldBeSorted() {
        #expect(VersionVector(["gd": 3, "bj": 4]).description == "{bj:4, gd:3}")
        #expect(VersionVector().description == "{}")
    }
}
