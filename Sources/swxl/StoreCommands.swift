import ArgumentParser
import XenStoreClient
import XenStoreProtocol
import XenStoreTools

/// `swxl store ...` and `swxl xenstored`.
var storeCommands: [any ParsableCommand.Type] {
    [
        StoreCommand.self,
        Xenstored.self,
    ]
}

/// `swxl store`: xenstore from the command line, like Xen's `xenstore-*` tools.
struct StoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Read and change xenstore, like Xen's xenstore-* tools.",
        discussion: """
            Talks to the daemon libxenstore would use: $XENSTORED_PATH, else the system's \
            xenstored, else the xenbus device; on a host without Xen, swxl's own daemon \
            (started in the background when needed). Exit status: 0 success, 1 failure.
            """,
        subcommands: [
            StoreRead.self, StoreWrite.self, StoreLs.self, StoreList.self, StoreExists.self,
            StoreRm.self, StoreMkdir.self, StoreChmod.self, StoreGetperms.self, StoreWatch.self,
            StoreTransaction.self,
        ]
    )
}

struct StoreRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read", abstract: "Print the values at paths (several: read in one transaction).").parsedAlone

    @Flag(name: .shortAndLong, help: "Print each value after its path and ': '.") var prefix = false
    @Flag(name: [.customShort("R"), .long], help: "Print values as they are, without escapes or newline.") var raw = false
    @Flag(help: "Print a JSON object from path to value.") var json = false
    @Argument(help: "The paths to read.") var paths: [String]

    func run() throws {
        let outputs = try StoreCLI.run("read", paths.map { .read($0) }, atomically: paths.count > 1)
        let values = outputs.compactMap(\.value)
        if json {
            Terminal.out(XenStoreTool.readJSON(paths, values))
        } else {
            Terminal.out(bytes: XenStoreTool.readText(paths, values, prefix: prefix, raw: raw))
        }
    }
}

struct StoreWrite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write", abstract: "Write values: path value [path value ...] (several: in one transaction).").parsedAlone

    @Flag(name: [.customShort("R"), .long], help: "Take values as they are: no backslash escapes.") var raw = false
    @Argument(help: "Path and value pairs. Values take xenstore-write's escapes (\\n, \\t, \\xNN, \\ooo, \\\\).")
    var pairs: [String]

    func validate() throws {
        guard pairs.count % 2 == 0 else { throw ValidationError("Expected path and value pairs: an even number of arguments.") }
    }

    func run() throws {
        let writes: [XenStoreBatch.Operation] = stride(from: 0, to: pairs.count, by: 2).map { i in
            .write(pairs[i], raw ? Array(pairs[i + 1].utf8) : XenStoreText.unsanitise(pairs[i + 1]))
        }
        _ = try StoreCLI.run("write", writes, atomically: writes.count > 1)
    }
}

struct StoreLs: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "Print the tree below a path with values, as xenstore-ls does.").parsedAlone

    @Flag(name: .shortAndLong, help: "Full paths instead of an indented tree; nothing is cut.") var full = false
    @Flag(name: [.customShort("p"), .long], help: "Show each node's permissions.") var permissions = false
    @Flag(help: "Print a JSON array of {path, value[, perms]}.") var json = false
    @Argument(help: "Where to start.") var path = "/"

    func run() throws {
        let store = try StoreCLI.connect("ls")
        var format = XenStoreListing.Format(permissions: permissions, fullPaths: full)
        if let columns = StoreCLI.terminalColumns() { format.width = columns - 2 }
        do {
            try XenStoreListing.print(store, path, format: format, json: json,
                                      output: { Terminal.out(bytes: $0) }, warning: { StoreCLI.warn("ls", $0) })
        } catch {
            throw StoreCLI.fail("ls", error, changesStore: false)
        }
    }
}

struct StoreList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Print the names of a path's children, one per line.").parsedAlone

    @Flag(name: .shortAndLong, help: "Print full paths, not just names.") var prefix = false
    @Flag(help: "Print a JSON object from path to its children.") var json = false
    @Argument(help: "The paths to list.") var paths: [String]

    func run() throws {
        let outputs = try StoreCLI.run("list", paths.map { .list($0) }, atomically: paths.count > 1)
        let lists = outputs.compactMap(\.children)
        Terminal.out(json ? XenStoreTool.listJSON(paths, lists) : XenStoreTool.listText(paths, lists, prefix: prefix))
    }
}

struct StoreExists: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exists", abstract: "Exit 0 if every path exists, 1 if one does not. Prints nothing.").parsedAlone

    @Argument(help: "The paths to test.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("exists")
        let all: Bool
        do { all = try XenStoreTool.allExist(paths, on: store) } catch { throw StoreCLI.fail("exists", error, changesStore: false) }
        if !all { throw ExitCode(1) }
    }
}

struct StoreRm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove paths and everything below them.").parsedAlone

    @Flag(name: .shortAndLong, help: "Also remove parents left empty (no value, no children).") var tidy = false
    @Argument(help: "The paths to remove.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("rm")
        do { try XenStoreTool.remove(paths, tidy: tidy, on: store) } catch { throw StoreCLI.fail("rm", error, changesStore: true) }
    }
}

struct StoreMkdir: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mkdir", abstract: "Create paths (and missing parents) with empty values.").parsedAlone

    @Argument(help: "The paths to create.") var paths: [String]

    func run() throws {
        _ = try StoreCLI.run("mkdir", paths.map { .mkdir($0) }, atomically: paths.count > 1)
    }
}

struct StoreChmod: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chmod", abstract: "Set a path's permissions: the first names the owner and everyone else's access.",
        discussion: "Each permission is n (none), r (read), w (write) or b (both) followed by a domid, e.g. n0 r5.").parsedAlone

    @Flag(name: .shortAndLong, help: "Also set them on everything below the path.") var recursive = false
    @Flag(name: .shortAndLong, help: "Also set them on every parent up to the root.") var upto = false
    @Argument(help: "The path.") var path: String
    @Argument(help: "The permissions, e.g. n0 r5.") var permissions: [String]

    func run() throws {
        let perms: XSPermissions
        do { perms = try XenStoreTool.permissions(permissions) } catch { throw StoreCLI.fail("chmod", error, changesStore: false) }
        let store = try StoreCLI.connect("chmod")
        do {
            try XenStoreTool.setPermissions(path, perms, recursive: recursive, upto: upto, on: store)
        } catch {
            throw StoreCLI.fail("chmod", error, changesStore: true)
        }
    }
}

struct StoreGetperms: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "getperms", abstract: "Print paths' permissions, e.g. n0,r5 (owner first).").parsedAlone

    @Flag(name: .shortAndLong, help: "Print each after its path and ': '.") var prefix = false
    @Flag(help: "Print a JSON object from path to its permission list.") var json = false
    @Argument(help: "The paths.") var paths: [String]

    func run() throws {
        let outputs = try StoreCLI.run("getperms", paths.map { .getperms($0) }, atomically: paths.count > 1)
        let all = outputs.compactMap(\.permissions)
        Terminal.out(json ? XenStoreTool.permissionsJSON(paths, all) : XenStoreTool.permissionsText(paths, all, prefix: prefix))
    }
}

struct StoreWatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch", abstract: "Print 'path token' for each change at or below the paths (the token is the watched path).",
        discussion: "Each watch fires once when set. Runs until killed, or until -n events.").parsedAlone

    @Option(name: [.customShort("n"), .long], help: "Stop after this many events.") var number: Int?
    @Flag(help: "Print one JSON object {path, token} per line.") var json = false
    @Argument(help: "Paths (or @introduceDomain, @releaseDomain) to watch.") var paths: [String]

    func run() throws {
        let store = try StoreCLI.connect("watch")
        do {
            try XenStoreTool.watch(paths, on: store, count: number) { Terminal.out(XenStoreTool.eventLine($0, json: json)) }
        } catch {
            throw StoreCLI.fail("watch", error, changesStore: false)
        }
    }
}

struct StoreTransaction: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transaction",
        abstract: "Run a batch of operations atomically, retrying when another change conflicts.",
        discussion: """
            Operations come as arguments, one per argument, or else one per line on stdin:
              read PATH | write PATH VALUE | mkdir PATH | rm PATH | list PATH
              exists PATH | getperms PATH | chmod PATH PERM...
            VALUE is the rest of the line and takes xenstore-write's escapes. 'exists' fails the \
            batch when PATH is missing. Blank lines and lines starting with # are skipped. Output \
            (values, children, permissions, in order) is printed once the batch has committed; \
            on any failure nothing is changed.
            """).parsedAlone

    @Flag(help: "Print a JSON array of {op, path[, value|children|perms]}.") var json = false
    @Argument(help: "Operations, e.g. 'write /a 1' 'read /b'. None: read them from stdin.") var operations: [String] = []

    func run() throws {
        let lines = operations.isEmpty ? StoreCLI.readStandardInput().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) : operations
        var batch: [(line: Int, op: XenStoreBatch.Operation)] = []
        for (index, line) in lines.enumerated() {
            do {
                if let op = try XenStoreBatch.parse(line) { batch.append((index + 1, op)) }
            } catch {
                throw StoreCLI.fail("transaction", "line \(index + 1): \(error)")
            }
        }
        let outputs = try StoreCLI.run("transaction", batch.map(\.op), atomically: true, lines: batch.map(\.line))
        if json {
            Terminal.out(XenStoreJSON.array(zip(batch, outputs).map { XenStoreBatch.json($0.op, $1) }) + "\n")
        } else {
            Terminal.out(outputs.map(XenStoreBatch.text).joined())
        }
    }
}
