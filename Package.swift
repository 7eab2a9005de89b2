// swift-tools-version:6.1
import PackageDescription

/// Settings every Ferry target shares: Swift 6 mode, and nonisolated async code
/// runs on its caller's executor, so non-Sendable streams can be passed down a call chain.
let strict: [SwiftSetting] = [
    .enableUpcomingFeature("NonisolatedNonsendingByDefault"),
    .enableUpcomingFeature("InferIsolatedConformances"),
]

let package = Package(
    name: "Ferry",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ferry", targets: ["ferry"]),
        .library(name: "FerryCore", targets: ["FerryCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // C libraries from Debian's -dev packages, each behind a shim header.
        .systemLibrary(name: "CLZMA", path: "Sources/CLibs/CLZMA", pkgConfig: "liblzma",
                       providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CLibs/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSSH2", path: "Sources/CLibs/CSSH2", pkgConfig: "libssh2",
                       providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "CBZip2", path: "Sources/CLibs/CBZip2", providers: [.apt(["libbz2-dev"])]),
        .systemLibrary(name: "CBrotli", path: "Sources/CLibs/CBrotli", pkgConfig: "libbrotlidec",
                       providers: [.apt(["libbrotli-dev"])]),
        .systemLibrary(name: "CLZ4", path: "Sources/CLibs/CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CLibs/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLinux", path: "Sources/CLibs/CLinux"),

        .target(
            name: "FerryCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Core",
            swiftSettings: strict),

        // Plugins: each knows Core and its own C library, never another plugin.
        .target(name: "FerryLocalStore", dependencies: ["FerryCore"], path: "Sources/Plugins/LocalStore",
                swiftSettings: strict),
        .target(name: "FerryFileCache", dependencies: ["FerryCore", "CLinux"], path: "Sources/Plugins/FileCache",
                swiftSettings: strict),
        .target(name: "FerryZstd", dependencies: ["FerryCore", "CZstd"], path: "Sources/Plugins/Zstd",
                swiftSettings: strict),
        .target(name: "FerryXZ", dependencies: ["FerryCore", "CLZMA"], path: "Sources/Plugins/XZ",
                swiftSettings: strict),
        .target(name: "FerryBZip2", dependencies: ["FerryCore", "CBZip2"], path: "Sources/Plugins/BZip2",
                swiftSettings: strict),
        .target(name: "FerryBrotli", dependencies: ["FerryCore", "CBrotli"], path: "Sources/Plugins/Brotli",
                swiftSettings: strict),
        .target(name: "FerryLZ4", dependencies: ["FerryCore", "CLZ4"], path: "Sources/Plugins/LZ4",
                swiftSettings: strict),
        .target(name: "FerryGzip", dependencies: ["FerryCore", "CZlib"], path: "Sources/Plugins/Gzip",
                swiftSettings: strict),
        .target(name: "FerryBasicCodecs", dependencies: ["FerryCore"], path: "Sources/Plugins/BasicCodecs",
                swiftSettings: strict),
        // Logging: the logger Core hands every plugin in its context.
        .target(name: "FerrySSH", dependencies: ["FerryCore", "CSSH2", .product(name: "Logging", package: "swift-log")],
                path: "Sources/Plugins/SSH", swiftSettings: strict),

        .target(name: "FerryHTTP",
                dependencies: ["FerryCore", .product(name: "AsyncHTTPClient", package: "async-http-client")],
                path: "Sources/Plugins/HTTP", swiftSettings: strict),

        .target(name: "FerryBuiltinPlugins",
                dependencies: ["FerryCore", "FerryLocalStore", "FerryFileCache", "FerryZstd", "FerryXZ",
                               "FerryBZip2", "FerryBrotli", "FerryGzip", "FerryLZ4", "FerryBasicCodecs", "FerrySSH",
                               "FerryHTTP"],
                path: "Sources/BuiltinPlugins", swiftSettings: strict),

        .executableTarget(
            name: "ferry",
            dependencies: [
                "FerryCore", "FerryBuiltinPlugins",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/ferry",
            swiftSettings: strict),

        // libFuzzer targets for the parsers of untrusted input (`make fuzz`); built plainly,
        // a tool that replays inputs.
        .executableTarget(name: "ferry-fuzz", dependencies: ["FerryCore"], path: "Fuzz", swiftSettings: strict),

        // Helpers every test target shares: temporary directories, running commands.
        .target(name: "FerryTestSupport", path: "Tests/FerryTestSupport", swiftSettings: strict),
        .testTarget(
            name: "FerryCoreTests",
            dependencies: ["FerryCore", "FerryTestSupport"],
            path: "Tests/FerryCoreTests",
            resources: [.copy("Fixtures")],
            swiftSettings: strict),
        .testTarget(
            name: "FerryPluginTests",
            dependencies: ["FerryCore", "FerryBuiltinPlugins", "FerryZstd", "FerryXZ", "FerryBZip2", "FerryBrotli", "FerryGzip", "FerryLZ4",
                           "FerryBasicCodecs", "FerryFileCache", "FerryLocalStore", "FerryHTTP", "FerryTestSupport"],
            path: "Tests/FerryPluginTests",
            swiftSettings: strict),
        .testTarget(
            name: "FerryIntegrationTests",
            dependencies: ["FerryCore", "FerryBuiltinPlugins", "FerryTestSupport", "ferry"],
            path: "Tests/FerryIntegrationTests",
            swiftSettings: strict),
    ]
)
