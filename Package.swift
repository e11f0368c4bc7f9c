// swift-tools-version: 6.1
import PackageDescription

// Dependency direction (see README "Architecture"):
//   smtpscope ─► Analysis ─► Reassembly ─► Wire
//       │           ├──────► SMTP ─► CByteMask (imports nothing else of ours)
//       │           ├──────► CSHA1
//       │           └──────► Capture ─► CLibpcap, Wire
//       └─► Report (HTML from the JSON Lines records alone)
// Only Capture calls pcap_*; SMTP never sees TCP; core targets never read the wall clock.
let package = Package(
    name: "smtpscope",
    products: [
        .executable(name: "smtpscope", targets: ["smtpscope"]),
        .library(name: "SMTPScopeAnalysis", targets: ["Analysis"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibpcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        .target(name: "Wire"),
        .target(name: "Capture", dependencies: ["CLibpcap", "Wire"]),
        .target(name: "Reassembly", dependencies: ["Wire"]),
        // The body scan in C: 64-byte blocks with SSE2, AVX2 or AVX-512 chosen at run time, XXH64 in the same pass.
        .target(name: "CByteMask"),
        .target(name: "SMTP", dependencies: ["CByteMask"]),
        // SHA-1 blocks with the x86 SHA extensions, for Community ID (portable rounds in Analysis).
        .target(name: "CSHA1"),
        .target(
            name: "Analysis",
            dependencies: ["Wire", "Capture", "Reassembly", "SMTP", "CSHA1"]
        ),
        .target(name: "Report"),
        .executableTarget(
            name: "smtpscope",
            dependencies: [
                "Analysis", "Capture", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Wire", "Capture"]),
        // Deterministic generator of large SMTP captures with a truth file (benchmarks, tests).
        .executableTarget(
            name: "smtpscope-gen",
            dependencies: ["Wire", "Capture", "TestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Counting malloc/free interposer, linked into smtpscope-bench only (allocations per packet).
        .target(name: "CAllocationCounter"),
        // Side-by-side throughput and memory figures for each pipeline stage.
        .executableTarget(
            name: "smtpscope-bench",
            dependencies: [
                "Wire", "Capture", "Reassembly", "SMTP", "Analysis", "CAllocationCounter",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"]),
        .testTarget(name: "CaptureTests", dependencies: ["Capture", "Wire", "TestSupport"]),
        .testTarget(name: "ReassemblyTests", dependencies: ["Reassembly", "Wire", "Capture", "TestSupport"]),
        .testTarget(name: "SMTPTests", dependencies: ["SMTP"]),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis", "Wire", "Capture", "Reassembly", "SMTP", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(
            name: "RegressionTests",
            dependencies: ["Wire", "Capture", "Reassembly", "SMTP", "Analysis", "TestSupport"],
            exclude: ["README.md"]
        ),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Capture", "Wire"]),
    ],
    swiftLanguageModes: [.v6]
)
