// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swxl",
    products: [
        .executable(name: "swxl", targets: ["swxl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        // The GNU parts of <spawn.h> that Glibc's module leaves out.
        .target(name: "CSwxlSystem"),
        // What several targets do with the OS: spawning, files and lock
        // files, errno and EINTR, clocks, Unix socket addresses, the
        // process's environment and path, and swxl's state-dir layout.
        .target(name: "SwxlSystem", dependencies: ["CSwxlSystem"]),
        // The xenstore wire format and its rules: pure, no I/O.
        .target(name: "XenStoreProtocol"),
        // A small blocking client over a Unix socket (or the xenbus device).
        .target(name: "XenStoreClient", dependencies: ["XenStoreProtocol", "SwxlSystem"]),
        // What Xen's xenstore-* tools do and print (text and JSON), for `swxl store`.
        .target(name: "XenStoreTools", dependencies: ["XenStoreClient", "XenStoreProtocol"]),
        // SQLite from the system (libsqlite3-dev), for the daemon's durable store.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // A thin SQLite connection shared by the daemon's store and the toolstack's state.
        .target(name: "SwxlSQLite", dependencies: ["CSQLite"]),
        // <sys/epoll.h>, which Glibc's module lacks (no library to link).
        .systemLibrary(name: "CEpoll"),
        // The daemon's side of a xenstore ring page: index checks, barriers, copies.
        .target(name: "CXenStoreRing"),
        // swxl's own xenstored.
        .target(name: "XenStoreServer", dependencies: [
            "XenStoreProtocol", "SwxlSystem", "CSwxlSystem", "SwxlSQLite", "CSQLite", "CEpoll", "CXenStoreRing", "CXen",
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: [
            // The daemon's hot path mutates class properties (the tree, the
            // outboxes) dozens of times per request, and each mutation pays a
            // runtime exclusivity check (about 13% of its instructions per
            // request). Release builds leave them out; debug builds and so the
            // tests keep them. Compile-time exclusivity checking is unaffected.
            .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
            // Reference counts changed here are changed without atomic
            // instructions (swift_nonatomic_retain/release): under QEMU's
            // TCG, where a dom0 runs on a CI host, each atomic one is a
            // helper call. Safe because the daemon is one thread (the epoll
            // loop of SocketServer; nothing in this module, in
            // `swxl xenstored` or in the libraries it calls starts another),
            // so no object is ever retained or released by two threads.
            // Release builds only: the tests (debug) run the store on
            // many threads at once, each test its own store.
            .unsafeFlags(["-Xfrontend", "-assume-single-threaded"], .when(configuration: .release)),
        ]),
        // xl's save-file container and libxl's migration stream v2, xl's
        // migration handshake: the bytes, exact reads, no host.
        .target(name: "SaveFormat"),
        // Config text (xl.cfg, xm, SXP) to the typed domain model and back: pure.
        .target(name: "DomainConfig"),
        // The only code that includes Xen's C headers.
        // Xen's libraries are linked from their static archives (libxen-dev):
        // swxl starts without loading them and runs on hosts without Xen.
        // libxenguest whole: its kernel loaders register themselves from
        // constructors that nothing references. Users before what they use.
        .target(name: "CXen", linkerSettings: [
            .unsafeFlags(["-Xlinker", "--whole-archive", "-Xlinker", "-l:libxenguest.a",
                          "-Xlinker", "--no-whole-archive"]
                         + ["xenctrl", "xendevicemodel", "xenforeignmemory", "xengnttab", "xenevtchn",
                            "xencall", "xentoolcore", "xentoollog", "lzma", "z"]
                         .flatMap { ["-Xlinker", "-l:lib\($0).a"] }
                         // libxc's writes of a save stream, gathered by the
                         // bridge for a file written around the page cache
                         // (Sources/CXen/save_restore.c, cxen_direct_start).
                         + ["-Xlinker", "--wrap=write_exact", "-Xlinker", "--wrap=writev_exact"]),
        ]),
        // Domain lifecycle over any Hypervisor and xenstore, devices included.
        .target(name: "Toolstack", dependencies: [
            "DomainConfig", "XenStoreClient", "XenStoreProtocol", "SwxlSystem", "SwxlSQLite", "SaveFormat",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Real Xen: the hypervisor over CXen, its kernel cache, and the
        // device backends that run Xen's hotplug scripts.
        .target(name: "XenHost", dependencies: [
            "Toolstack", "DomainConfig", "XenStoreProtocol", "SwxlSystem", "CXen", "SaveFormat",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The embedded host: the simulated hypervisor, the simulated guests'
        // host (its epoll loop), guests' console logs, and the factory that
        // opens either host's toolstack.
        .target(name: "EmbeddedHost", dependencies: [
            "DomainConfig", "Toolstack", "XenHost", "XenStoreClient", "XenStoreProtocol", "SwxlSystem", "CEpoll", "SaveFormat",
        ]),
        // A terminal attached to a guest's console, as xenconsole attaches
        // one: the pty from xenstore, raw mode, the two-way copy, Ctrl-].
        .target(name: "GuestConsole", dependencies: ["XenStoreClient", "SwxlSystem"]),
        // The XenAPI server (`swxl serve`): HTTP, the XML-RPC and JSON-RPC
        // envelopes, who may call, and the surface (sessions, records from
        // the one model, tasks, events) over the same Toolstack the CLI drives.
        // It takes the host the CLI opens (EmbeddedHost's ToolstackHost):
        // the toolstack, and what differs between hosts (the watcher a
        // started domain needs, the xenstore socket its event watch uses).
        .target(name: "ManagementAPI", dependencies: [
            "Toolstack", "EmbeddedHost", "DomainConfig", "SaveFormat", "XenStoreClient", "XenStoreProtocol", "SwxlSystem", "CEpoll",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The command line.
        .executableTarget(name: "swxl", dependencies: [
            "XenStoreProtocol", "XenStoreClient", "XenStoreTools", "XenStoreServer", "DomainConfig", "Toolstack", "EmbeddedHost", "GuestConsole", "SwxlSystem", "SaveFormat", "ManagementAPI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Benchmarks (release builds): `swift run -c release swxl-bench --help`.
        .executableTarget(name: "swxl-bench", dependencies: [
            "XenStoreProtocol", "XenStoreClient", "XenStoreServer", "DomainConfig", "Toolstack", "EmbeddedHost", "SwxlSystem", "ManagementAPI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Coverage-guided fuzzing (scripts/fuzz): what each reader of
        // untrusted input is fed, and the driver. Built normally, swxl-fuzz
        // replays inputs; scripts/fuzz builds it with libFuzzer and ASan.
        .target(name: "SwxlFuzzTargets", dependencies: [
            "DomainConfig", "SaveFormat", "XenStoreProtocol", "XenStoreServer", "ManagementAPI",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "CSwxlFuzz"),
        .executableTarget(name: "swxl-fuzz", dependencies: ["SwxlFuzzTargets", "CSwxlFuzz"]),

        .testTarget(name: "SaveFormatTests", dependencies: ["SaveFormat"]),
        .testTarget(name: "SwxlSystemTests", dependencies: ["SwxlSystem", "SwxlSQLite"]),
        .testTarget(name: "XenStoreProtocolTests", dependencies: ["XenStoreProtocol"]),
        .testTarget(name: "XenStoreServerTests", dependencies: ["XenStoreServer", "XenStoreProtocol", "SwxlSystem", "CSQLite"]),
        .testTarget(name: "XenStoreClientTests", dependencies: ["XenStoreClient", "XenStoreServer", "XenStoreProtocol"]),
        .testTarget(name: "XenStoreToolsTests", dependencies: ["XenStoreTools", "XenStoreClient", "XenStoreServer", "XenStoreProtocol"]),
        .testTarget(name: "DomainConfigTests", dependencies: [
            "DomainConfig",
            .product(name: "PropertyBased", package: "swift-property-based"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "ToolstackTests", dependencies: ["Toolstack", "DomainConfig", "XenStoreClient", "XenStoreServer", "SwxlSystem", "SaveFormat"]),
        .testTarget(name: "XenHostTests", dependencies: ["XenHost", "CXen", "Toolstack", "XenStoreProtocol", "SwxlSystem", "SaveFormat"]),
        .testTarget(name: "GuestConsoleTests", dependencies: ["GuestConsole"]),
        .testTarget(name: "ManagementAPITests", dependencies: ["ManagementAPI", "Toolstack", "EmbeddedHost", "DomainConfig", "SwxlSystem"]),
        .testTarget(name: "EmbeddedHostTests", dependencies: ["EmbeddedHost", "DomainConfig", "Toolstack", "XenStoreProtocol", "SwxlSystem", "SaveFormat"]),
        // The fuzzer's findings and seeds (Fuzz/), replayed.
        .testTarget(name: "FuzzRegressionTests", dependencies: ["SwxlFuzzTargets"]),
        // Xen's own C tools (xenstore-*, test-xenstore, libxlutil) against our code.
        .testTarget(name: "InteropTests", dependencies: ["XenStoreProtocol", "DomainConfig", "SwxlSystem"]),
        // The built `swxl` run as a user runs it.
        // (CSQLite only to read the state files and see that nothing is left.)
        // (SwxlSystem only for the pseudo-terminal the console tests type into.)
        .testTarget(name: "EndToEndTests", dependencies: ["CSQLite", "SwxlSystem"], exclude: ["Fixtures"]),
    ]
)
