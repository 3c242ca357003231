// swift-tools-version:5.7
// netprov's macOS code as a Swift package: the libraries the Xcode project (project.yml) builds
// its three products from, and a quick `swift build` of everything on a Mac. The installable
// app — Netprov.app embedding com.netprov.sysex.systemextension and netprov-sysex-client,
// signed — is project.yml's job (`make -C sysex/macos`). sysex/common's C is compiled into the
// CNetprov target unchanged (the files there are the ones tested on Linux).
import PackageDescription

let package = Package(
    name: "NetprovSysex",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "CNetprov", targets: ["CNetprov"]),
        .library(name: "NetprovXPC", targets: ["NetprovXPC"]),
        .executable(name: "com.netprov.sysex", targets: ["NetprovSysex"]),
        .executable(name: "netprov-activate", targets: ["NetprovActivate"]),
        .executable(name: "netprov-sysex-client", targets: ["NetprovClient"]),
    ],
    targets: [
        .target(name: "CNetprov", path: "Sources/CNetprov", publicHeadersPath: "include"),
        .target(name: "NetprovXPC", path: "Sources/NetprovXPC"),
        .executableTarget(
            name: "NetprovSysex",
            dependencies: ["CNetprov", "NetprovXPC"],
            linkerSettings: [.linkedLibrary("EndpointSecurity"), .linkedFramework("NetworkExtension")]
        ),
        .executableTarget(
            name: "NetprovActivate",
            linkerSettings: [.linkedFramework("SystemExtensions"), .linkedFramework("NetworkExtension")]
        ),
        .executableTarget(name: "NetprovClient", dependencies: ["NetprovXPC"]),
    ]
)
