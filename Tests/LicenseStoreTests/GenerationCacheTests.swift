@testable import LicenseStore
import Testing

/// The cache a writer refills after its commit: kept only if no other write came between.
@Suite struct GenerationCacheTests {
    @Test func aValueReadInTheTransaction_isKept_whenNoOtherWriteCameBetween() {
        let cache = GenerationCache<Int>()
        #expect(cache.value { 1 } == 1)
        cache.invalidate()                      // the writer's own invalidation, in its transaction
        let generation = cache.generation       // read with the new value, after it
        cache.invalidate(keeping: 2, readAt: generation)
        #expect(cache.value { 99 } == 2)
    }

    @Test func aValueReadInTheTransaction_isDropped_whenAnotherWriteInvalidatedSince() {
        let cache = GenerationCache<Int>()
        cache.invalidate()
        let generation = cache.generation
        cache.invalidate()                      // another writer, committed after this one
        cache.invalidate(keeping: 2, readAt: generation)
        #expect(cache.value { 3 } == 3)
    }

    @Test func aReaderWithAStaleSnapshot_cannotStoreItAfterTheCommit() {
        let cache = GenerationCache<Int>()
        cache.invalidate()
        let generation = cache.generation
        // A reader that loads a snapshot taken before the commit and stores it late.
        let stale = cache.value { cache.invalidate(keeping: 2, readAt: generation); return 1 }
        #expect(stale == 1)
        #expect(cache.value { 99 } == 2)
    }
}
