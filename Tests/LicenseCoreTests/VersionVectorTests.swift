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

    @Test func total_shouldSumComponents() {
        #expect(VersionVector(["gd": 3, "bj": 4]).total == 7)
        #expect(VersionVector().total == 0)
    }

    @Test func description_shouldBeSorted() {
        #expect(VersionVector(["gd": 3, "bj": 4]).description == "{bj:4, gd:3}")
        #expect(VersionVector().description == "{}")
    }
}
