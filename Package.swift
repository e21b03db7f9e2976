// swift-tools-version:6.0
import PackageDescription

// Layers (imports point down only):
//   portal (CLI) → Portal (features) → Web → HTTP
//                                    ↘ Database → CSQLite
//                  Portal → Mail → Jobs → Database   (Mail is the first kind of job)
//                  Portal → Outbound → CCurl          (webhook POSTs; knows no portal)
let package = Package(
    name: "Portal",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "portal", targets: ["portal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // System libraries: a module map each, nothing else.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLinux"), // epoll, eventfd (no library to link)
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // zxcvbn-c ships no .pc file: the module map links it by name.
        .systemLibrary(name: "CZxcvbn", providers: [.apt(["libzxcvbn-dev"])]),

        // Sockets, epoll, HTTP/1.1. Knows nothing of the portal.
        .target(name: "HTTP", dependencies: [
            "CLinux",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // SQLite connections, statements, transactions, migrations. Knows no portal table.
        .target(name: "Database", dependencies: [
            "CSQLite", "CZlib", // zlib: sqlar_uncompress, for columns kept compressed
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Password hashing and strength, TOTP, random tokens, HMAC, AES-GCM, QR codes. Knows no HTTP.
        .target(name: "Security", dependencies: ["COpenSSL", "CQRencode", "CZxcvbn"]),
        // Router, middleware, forms, cookies, templates, static files, error pages. Knows no feature.
        .target(name: "Web", dependencies: [
            "HTTP", "CZlib", "Security",
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Durable jobs in SQLite: lease, attempts, backoff, bounded worker threads. Knows
        // nothing of what a job does.
        .target(name: "Jobs", dependencies: [
            "Database",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Outbound HTTP POSTs with libcurl, refusing private/loopback/metadata addresses
        // (SSRF). Knows nothing of the portal.
        .target(name: "Outbound", dependencies: ["CCurl", "CLinux"]),
        // The e-mail outbox, its delivery (a job kind) and transports (SMTP via libcurl, log).
        .target(name: "Mail", dependencies: [
            "Database", "Jobs", "Web", "CCurl",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The features.
        .target(name: "Portal", dependencies: [
            "Web", "HTTP", "Database", "Security", "Jobs", "Mail", "Outbound",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "portal", dependencies: [
            "Portal",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Helpers shared by the test targets (a log capture); not part of the product.
        .target(name: "TestSupport", dependencies: [.product(name: "Logging", package: "swift-log")], path: "Tests/TestSupport"),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        .testTarget(name: "DatabaseTests", dependencies: ["Database"]),
        .testTarget(name: "SecurityTests", dependencies: ["Security"]),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Database", "TestSupport"]),
        .testTarget(name: "MailTests", dependencies: ["Mail", "Jobs", "Database", "Web", "TestSupport"]),
        .testTarget(name: "OutboundTests", dependencies: ["Outbound", "TestSupport"]),
        .testTarget(name: "WebTests", dependencies: ["Web", "HTTP", "CZlib", "TestSupport"]),
        .testTarget(name: "PortalTests", dependencies: ["Portal", "Web", "HTTP", "Database", "Security", "Mail", "Outbound", "CZlib", "TestSupport"]),
    ]
)
