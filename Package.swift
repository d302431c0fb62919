// swift-tools-version:6.2
// Hummingbird 2.28 asks for tools 6.2; see shared/DESIGN.md "Dependencies, and why".
import PackageDescription

// LicenseCore and LicenseSync are pure: no NIO, no SQLite, no sockets. The dependency
// lists below make that impossible to break by accident.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "LicenseExchange",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "licensed", targets: ["licensed"]),
        .executable(name: "licensectl", targets: ["licensectl"]),
        .executable(name: "licensed-bench", targets: ["licensed-bench"]),
        .executable(name: "licensed-sim", targets: ["licensed-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .target(
            name: "LicenseCore",
            dependencies: [
                "CSodium",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            resources: [.copy("Resources/catalog.json")],
            swiftSettings: strict
        ),
        // SQLite shims (docs/STORAGE.md): a VFS that writes each commit to the write-ahead log
        // in one call, and a page cache that skips truncations with nothing to drop.
        .target(
            name: "CWALBuffer",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        .target(
            name: "LicenseStore",
            dependencies: [
                "CWALBuffer",
                "LicenseCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the few statements an append runs per entry (RawStatement).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // The gossip protocol as sans-I/O state machines: events in, actions out. No NIO,
        // no SQLite, no clock: the daemon and the simulator drive the same code.
        .target(
            name: "LicenseSync",
            dependencies: ["LicenseCore"],
            swiftSettings: strict
        ),
        // Mutual-TLS transport for the gossip sessions, and the transport PKI (X.509 via
        // swift-certificates; no hand-built DER).
        .target(
            name: "LicenseTransport",
            dependencies: [
                "LicenseCore",
                "LicenseStore",
                "LicenseSync",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
            ],
            swiftSettings: strict
        ),
        // The admin API's JSON documents, shared by the daemon and licensectl.
        .target(
            name: "LicenseAPI",
            dependencies: ["LicenseCore"],
            swiftSettings: strict
        ),
        .target(
            name: "LicenseNode",
            dependencies: [
                "CSodium",
                "LicenseAPI",
                "LicenseCore",
                "LicenseStore",
                "LicenseSync",
                "LicenseTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "licensed",
            dependencies: [
                "LicenseNode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "licensectl",
            dependencies: [
                "LicenseAPI",
                "LicenseCore",
                "LicenseNode",
                "LicenseTransport",
                "LicenseStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The deterministic simulator: the real sessions and stores, a virtual clock, a
        // seeded random source and a faulty network (docs/SIMULATION.md).
        .target(
            name: "LicenseSim",
            dependencies: ["LicenseCore", "LicenseStore", "LicenseSync", "LicenseTransport"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "licensed-sim",
            dependencies: [
                "LicenseSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "licensed-bench",
            dependencies: [
                "LicenseCore",
                "LicenseStore",
                "LicenseNode",
                "LicenseTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "LicenseCoreTests", dependencies: ["LicenseCore"], swiftSettings: strict),
        .testTarget(
            name: "LicenseStoreTests",
            dependencies: [
                "LicenseStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LicenseTransportTests",
            dependencies: ["LicenseTransport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LicenseSyncTests",
            dependencies: ["LicenseSync", "LicenseStore", "LicenseTransport"],
            swiftSettings: strict
        ),
        .testTarget(name: "LicenseSimTests", dependencies: ["LicenseSim", "LicenseCore"], swiftSettings: strict),
        .testTarget(
            name: "LicenseNodeTests",
            dependencies: [
                "LicenseNode",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
    ]
)
