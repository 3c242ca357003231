// swift-tools-version:5.7
// netprov's macOS system extension: the code, as a Swift package that `swift build` compiles on
// a Mac. Packaging it as a .systemextension inside an app, signing and activating it are Xcode's
// and the Developer ID's job: README.md gives the steps. sysex/common's C is compiled into the
// CNetprov target unchanged (the files there are the ones tested on Linux).
import PackageDescription

let package = Package(
    name: "NetprovSysex",
    platforms: [.macOS(.v11)],
    products: [
        .executable(name: "com.netprov.sysex", targets: ["NetprovSysex"]),
        .executable(name: "netprov-activate", targets: ["NetprovActivate"]),
    ],
    targets: [
        .target(name: "CNetprov", path: "Sources/CNetprov", publicHeadersPath: "include"),
        .executableTarget(
            name: "NetprovSysex",
            dependencies: ["CNetprov"],
            linkerSettings: [.linkedLibrary("EndpointSecurity"), .linkedFramework("NetworkExtension")]
        ),
        .executableTarget(
            name: "NetprovActivate",
            linkerSettings: [.linkedFramework("SystemExtensions"), .linkedFramework("NetworkExtension")]
        ),
    ]
)
